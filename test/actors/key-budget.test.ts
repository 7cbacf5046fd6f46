/**
 * The service-wide key budget (--max-keys-total) on real plugins in a real PluginHost, fed as
 * the intake feeds it (queue, then applyQueued per batch): a flood of new names fills a dozen
 * per-user containers at once, and each plugin's own cap (--plugin-max-keys) does not bound
 * their sum. With the budget, the total comes back under it after every batch, the largest
 * containers give way first, small ones go on, and a store past the lowered cap keeps counting
 * the keys it has.
 */
import { describe, expect, it } from 'vitest';
import { fairShare, KeyBudget, LIFT_AT } from '../../actors/key-budget.js';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { topUsers } from '../../plugins/top-n.js';
import { volumeByUser } from '../../plugins/volume-by-key.js';
import { volume } from '../../plugins/volume.js';
import { keyBudgetProblem } from '../../src/readiness.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const T = 497_222 * 3600;

const meeting = (t: number, users: readonly string[], extra: Record<string, unknown> = {}) =>
  createPluginMessage(
    {
      topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
      timestamp: t,
      msg: { attendees: Object.fromEntries(users.map((u) => [u, 1])), ...extra },
    },
    deriveMeta,
  );
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Counts messages per `kind` in a plain store: a handful of keys, written by every message. */
const kinds = definePlugin({
  name: 'Kinds',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; kind: string; n: number }>(),
  columns: ['kind', 'n'],
  key: ['kind'],
  stores: { seen: store<number>() },
  update(m, { rows, stores }) {
    const kind = String((m.body as { kind?: unknown }).kind ?? 'none');
    const n = (stores.seen.get(kind) ?? 0) + 1;
    stores.seen.set(kind, n);
    rows.put({ timestamp: m.timestamp, kind, n });
  },
});

describe('fairShare (water-filling)', () => {
  it('is the largest level whose capped sum fits the limit', () => {
    expect(fairShare([10, 50, 100], 1000)).toBe(Number.POSITIVE_INFINITY);
    expect(fairShare([10, 50, 100], 100)).toBe(45);
    expect(fairShare([300, 300, 300], 600)).toBe(200);
    const random = mulberry32(7);
    for (let round = 0; round < 200; round++) {
      const sizes = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 10_000));
      const total = sizes.reduce((a, b) => a + b, 0);
      const limit = 1 + Math.floor(random() * total);
      const level = fairShare(sizes, limit);
      const capped = (l: number) => sizes.reduce((a, s) => a + Math.min(s, l), 0);
      if (total <= limit) {
        expect(level).toBe(Number.POSITIVE_INFINITY);
        continue;
      }
      expect(capped(level), `sizes ${sizes} limit ${limit}`).toBeLessThanOrEqual(limit);
      // Maximal: one more would not fit (unless the floor of 1 holds it).
      if (level > 1) expect(capped(level + 1), `sizes ${sizes} limit ${limit}`).toBeGreaterThan(limit);
    }
  });

  it('holds the cap until the total falls below LIFT_AT of the budget, so a full budget does not flap', () => {
    const b = new KeyBudget(1000);
    expect(b.check([400, 400])).toBe(Number.POSITIVE_INFINITY);
    expect(b.check([900, 300])).toBe(700);
    expect(b.state).toEqual({ limit: 1000, total: 1200, cap: 700 });
    // Under the budget but above LIFT_AT of it: the cap stays.
    expect(b.check([700, 290])).toBe(700);
    // Over again: only ever lower while full.
    expect(b.check([700, 400])).toBe(600);
    expect(b.check([560, 350])).toBe(600);
    expect(b.check([Math.floor(LIFT_AT * 1000) - 101, 100])).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the key budget in a PluginHost', () => {
  const LIMIT = 6_000;
  const BATCHES = 40;
  const build = (maxKeysTotal?: number) =>
    new PluginHost(
      registerPlugins([topUsers(), volumeByUser('1m', '7d'), volumeByUser('5s', '1d'), volume('1m', '7d'), kinds]),
      () => {},
      // Checked after every message (CHECK_EVERY in the service), so each batch below ends on a check.
      { maxKeys: 100_000, keyBudgetCheckEvery: 1, ...(maxKeysTotal === undefined ? {} : { maxKeysTotal }) },
    );
  const total = (host: PluginHost) => host.runtimes.reduce((n, r) => n + r.keyCount, 0);
  /** A batch (an hour of message time) of 10 meetbot messages naming 20 new users each, and a `kind`. */
  const flood = (host: PluginHost, batch: number) => {
    for (let m = 0; m < 10; m++) {
      const t = T + batch * 3600 + m;
      const message = meeting(t, names(`b${batch}m${m}-`, 20), { kind: `k${m % 3}` });
      host.queue(
        message,
        host.runtimes.map((_, i) => i),
      );
    }
    host.applyQueued();
  };

  it('without it, the per-user containers together grow far past what the budget would allow', () => {
    const host = build();
    for (let batch = 0; batch < BATCHES; batch++) flood(host, batch);
    expect(total(host)).toBeGreaterThan(3 * LIMIT);
    expect(host.keyBudget).toBeNull();
  });

  it('brings the total back under the budget after every batch; the largest give way, the small plugin goes on', () => {
    const host = build(LIMIT);
    const kindsRt = host.get('kinds')!;
    for (let batch = 0; batch < BATCHES; batch++) {
      flood(host, batch);
      expect(total(host), `batch ${batch}`).toBeLessThanOrEqual(LIMIT);
      expect(host.keyBudget?.total).toBeGreaterThan(0);
    }
    const budget = host.keyBudget!;
    expect(budget.cap).toBeLessThan(LIMIT);
    // The per-user plugins hold their newest names; the oldest gave way, and were counted.
    const byUser = host.get('volume-by-user-1m')!;
    expect(byUser.keyCap).toBe(budget.cap);
    expect(byUser.inspect().counters.capEvicted).toBeGreaterThan(0);
    const newestUsers = byUser
      .query({ order: 'desc', page: 1, rowsPerPage: 5, params: {} })
      .rows.map((r) => (r as unknown as { user: string }).user);
    for (const u of newestUsers) expect(u).toMatch(new RegExp(`^b${BATCHES - 1}m`));
    // The small plugins lost nothing: every message applied, every count exact.
    expect(kindsRt.inspect().counters.applied).toBe(BATCHES * 10);
    expect(kindsRt.inspect().counters.dropped.key_cap).toBe(0);
    expect(kindsRt.inspect().stores['seen']?.get('k0')).toBe(BATCHES * 4);
    expect(host.get('volume-1m')!.inspect().counters.dropped.key_cap).toBe(0);
    // Who gives way is named for the health checks.
    const giving = host.atKeyBudget();
    expect(giving).toContain('volume-by-user-1m');
    expect(giving).not.toContain('kinds');
    expect(giving).not.toContain('volume-1m');
    expect(keyBudgetProblem(budget, giving)).toMatch(
      new RegExp(
        `^key budget full: \\d+ keys held of --max-keys-total ${LIMIT}; every plugin container is held to ${budget.cap} keys .*volume-by-user-1m`,
      ),
    );
  });

  it('a store past the lowered cap keeps counting the keys it has, and drops only messages that add one', () => {
    const host = build(LIMIT);
    const kindsRt = host.get('kinds')!;
    // 30 kinds first, then the flood: the budget's cap falls below 30 only if the flood is far
    // larger; force it by hand to check the store's rule on its own.
    for (let k = 0; k < 30; k++) host.get('kinds')!.send(meeting(T + k, [], { kind: `kind${k}` }));
    expect(kindsRt.inspect().stores['seen']?.size).toBe(30);
    kindsRt.limitKeys(10);
    expect(kindsRt.keyCap).toBe(10);
    // The rows container (30 rows) is cut to the cap at once, oldest first.
    expect(kindsRt.inspect().rows.size).toBe(10);
    // An existing kind: applied, counted on.
    kindsRt.send(meeting(T + 100, [], { kind: 'kind3' }));
    expect(kindsRt.inspect().counters.dropped.key_cap).toBe(0);
    expect(kindsRt.inspect().stores['seen']?.get('kind3')).toBe(2);
    // A new kind would grow the store past the cap: that message alone is dropped.
    kindsRt.send(meeting(T + 101, [], { kind: 'new' }));
    expect(kindsRt.inspect().counters.dropped.key_cap).toBe(1);
    expect(kindsRt.inspect().stores['seen']?.has('new')).toBe(false);
    // Lifted: it grows again.
    kindsRt.limitKeys(Number.POSITIVE_INFINITY);
    expect(kindsRt.keyCap).toBe(100_000);
    kindsRt.send(meeting(T + 102, [], { kind: 'new' }));
    expect(kindsRt.inspect().stores['seen']?.get('new')).toBe(1);
  });

  it('keeps the cap its own cut set, though whole slices gave way past it (no lift on the next check)', () => {
    // 30 meetings a minute apart, 100 new names each, the last three just after the hour: the
    // day and week windows hold 2700 names in the old hour's slice and 300 in the new one.
    const budget = 4_000;
    const host = build(budget);
    const all = host.runtimes.map((_, i) => i);
    for (let m = 0; m < 30; m++) host.dispatch(meeting(T + 180 - 60 * (30 - m), names(`h${m}-`, 100)), all);
    // The restored state measured against a lowered budget (as host.live() does at start).
    host.checkKeyBudget();
    const cap = host.keyBudget?.cap ?? Number.POSITIVE_INFINITY;
    expect(cap).toBeLessThan(budget);
    // The cut went past the cap: top-users' day window kept only its newest slice.
    const held = total(host);
    expect(held).toBeLessThan(LIFT_AT * budget);
    expect(host.keyBudget?.total).toBe(held);
    // Nothing happened since: the next check (the one after replay, or an empty batch) keeps it.
    host.checkKeyBudget();
    expect(host.keyBudget?.cap).toBe(cap);
    expect(host.get('volume-by-user-1m')?.keyCap).toBe(cap);
    // It is lifted once the total falls below LIFT_AT of what the cut left: two weeks later.
    host.queue(meeting(T + 14 * 86_400, ['quiet'], { kind: 'k0' }), all);
    host.applyQueued();
    expect(host.keyBudget?.cap).toBe(Number.POSITIVE_INFINITY);
  });

  it('lifts the cap once expiry and eviction bring the total below LIFT_AT of the budget', () => {
    const host = build(LIMIT);
    for (let batch = 0; batch < BATCHES; batch++) flood(host, batch);
    expect(host.keyBudget?.cap).toBeLessThan(LIMIT);
    // Two weeks later: the windows and the 1m/5s retentions let the flood go.
    const later = T + BATCHES * 3600 + 14 * 86_400;
    host.queue(
      meeting(later, ['quiet'], { kind: 'k0' }),
      host.runtimes.map((_, i) => i),
    );
    host.applyQueued();
    expect(host.keyBudget?.total).toBeLessThan(LIFT_AT * LIMIT);
    expect(host.keyBudget?.cap).toBe(Number.POSITIVE_INFINITY);
    for (const r of host.runtimes) expect(r.keyCap, r.ident).toBe(100_000);
    expect(host.atKeyBudget()).toEqual([]);
    expect(keyBudgetProblem(host.keyBudget, [])).toBeNull();
  });
});
