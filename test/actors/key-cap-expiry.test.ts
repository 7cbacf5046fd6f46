/**
 * The key cap meets time-driven expiry, on the real top-users plugin (three windowed counters:
 * hour, day, week) in a real PluginHost with a small key cap. A message dropped at the cap (or
 * throwing) loses only its own writes: the expiry its message time caused was committed before
 * them, so it is done, recorded and counted once, not undone and redone by every later message
 * (that cost ~1M deletes per message at the default cap). And a windowed counter at the cap
 * makes room by forgetting its oldest slices instead of dropping every new name for a window.
 */
import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import type { WindowedCounter } from '../../actors/windowed-counter.js';
import { topUsers } from '../../plugins/top-n.js';
import { ViewRows } from '../../src/http/view-rows.js';
import type { ViewSpec } from '../../src/http/ws-view-spec.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

const CAP = 60;
/** An hour boundary, so the flood shares one slice of every window. */
const T = 497_222 * 3600;
const HOUR = 3600;

/** A meetbot message naming `users` (derived by the real meta deriver). */
const meeting = (t: number, users: readonly string[]) =>
  createPluginMessage(
    {
      topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
      timestamp: t,
      msg: { attendees: Object.fromEntries(users.map((u) => [u, 1])) },
    },
    deriveMeta,
  );
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function topUsersAtCap() {
  const errors: unknown[] = [];
  const host = new PluginHost(registerPlugins([topUsers()]), (_i, e) => errors.push(e), { maxKeys: CAP });
  const rt = host.get('top-users');
  if (!rt) throw new Error('top-users not registered');
  const w = (name: 'hour' | 'day' | 'week') => rt.inspect().stores[name] as unknown as WindowedCounter;
  // The flood: 3 messages naming 20 new users each fill every window to the cap, in one slice.
  for (let m = 0; m < 3; m++) rt.send(meeting(T + m, names(`flood${m}-`, 20)));
  return { host, rt, errors, w, sizes: () => [w('hour').size, w('day').size, w('week').size] };
}

describe('key cap and time-driven expiry (real top-users)', () => {
  it('a message dropped at the cap keeps the expiry its time caused, done, recorded and counted once; only its own writes are undone', () => {
    const { host, rt, errors, w, sizes } = topUsersAtCap();
    expect(sizes()).toEqual([CAP, CAP, CAP]);
    const c = () => rt.inspect().counters;
    expect(c().applied).toBe(3);

    // Past the hour window, a message naming CAP + 1 new users: its own slice alone is over the
    // cap, so it is dropped; the hour counter's expiry of the flood (CAP entries) stays done.
    const cursor = rt.openReader();
    rt.send(meeting(T + 2 * HOUR, names('big-a', CAP + 1)));
    expect(c().dropped.key_cap).toBe(1);
    expect(w('hour').size).toBe(0);
    expect(c().expired).toBe(CAP);
    // The expiry deletions are in the change log (a snapshot writes them, a live view recomputes).
    const hourChanges = new Set<string>();
    rt.changesSince(cursor, (container, key) => container === 'hour' && hourChanges.add(key));
    const floodKeys = names('flood0-', 20).map((u) => `${T}\u001f${u}`);
    for (const key of floodKeys) expect(hourChanges.has(key), key).toBe(true);
    // The dropped message's own writes are gone from every window.
    for (const win of ['hour', 'day', 'week'] as const) expect(w(win).total('big-a0'), win).toBe(0);
    expect(sizes()).toEqual([0, CAP, CAP]);

    // More such messages: each writes (and undoes) only its own 3 x (CAP + 1) keys; the expiry is
    // not redone, so the log grows by exactly those writes and the expired count does not move.
    for (let i = 1; i <= 3; i++) {
      const before = rt.position;
      rt.send(meeting(T + 2 * HOUR + i, names(`big-${i}-`, CAP + 1)));
      expect(rt.position - before, `message ${i} after the drop`).toBe(3 * (CAP + 1));
      expect(sizes()).toEqual([0, CAP, CAP]);
      expect(c().expired).toBe(CAP);
    }
    expect(c().dropped.key_cap).toBe(4);
    rt.closeReader(cursor);
    expect(errors).toEqual([]);
    host.stop();
  });

  it('a windowed counter at the cap forgets its oldest slices for new names instead of freezing for a whole window', () => {
    const { host, rt, w, sizes } = topUsersAtCap();
    const c = () => rt.inspect().counters;
    // In the flood's own slice there is no older slice to forget: the message is dropped whole,
    // and none of its writes stay.
    rt.send(meeting(T + 30, ['late-joiner']));
    expect(c().dropped.key_cap).toBe(1);
    for (const win of ['hour', 'day', 'week'] as const) expect(w(win).total('late-joiner'), win).toBe(0);
    expect(sizes()).toEqual([CAP, CAP, CAP]);
    // Half an hour on: a new minute for the hour counter, but the day and week (hour slices)
    // still have only the flood's slice, and it is the newest: still dropped, hour included.
    rt.send(meeting(T + HOUR / 2, ['half-hour']));
    expect(c().dropped.key_cap).toBe(2);
    expect(sizes()).toEqual([CAP, CAP, CAP]);
    // The next hour slice: each window forgets the flood's slice, one time, and takes the name.
    rt.send(meeting(T + HOUR + 5, ['real0']));
    expect(c().dropped.key_cap).toBe(2);
    expect(c().applied).toBe(4);
    expect(sizes()).toEqual([1, 1, 1]);
    // The hour's flood minute expired; the day's and week's flood hour was forgotten early.
    expect([c().expired, c().capEvicted]).toEqual([CAP, 2 * CAP]);
    for (const win of ['hour', 'day', 'week'] as const) expect(w(win).total('real0'), win).toBe(1);
    // From then on new names are applied, each message costing only its own writes.
    for (let i = 1; i <= 5; i++) {
      const before = rt.position;
      rt.send(meeting(T + HOUR + 5 + i, [`real${i}`]));
      expect(rt.position - before).toBe(3);
    }
    expect(c().applied).toBe(9);
    expect(c().dropped.key_cap).toBe(2);
    expect(sizes()).toEqual([6, 6, 6]);
    expect([c().expired, c().capEvicted]).toEqual([CAP, 2 * CAP]);
    host.stop();
  });

  it('a live view (WebSocket frames) follows the committed expiry and matches the HTTP answer', () => {
    const { host, rt } = topUsersAtCap();
    const q = {
      order: 'desc' as const,
      page: 1,
      rowsPerPage: 100,
      params: { window: 'hour', n: 100 },
      limit: undefined,
      start: undefined,
      stop: T + 30 * 86_400,
    };
    const spec: ViewSpec = { ident: 'top-users', key: 'top-users?hour', query: q };
    const view = new ViewRows(spec, rt, ['window', 'rank'], T);
    const client = new Map<string, string>();
    const wire = (json: string) => {
      const r = JSON.parse(json) as { window: string; rank: number };
      return JSON.stringify([r.window, r.rank]);
    };
    for (const json of view.ordered()) client.set(wire(json), json);
    expect(client.size).toBe(CAP);
    const http = () => rt.query(q).rows.map((r) => JSON.stringify(r));
    rt.send(meeting(T + 2 * HOUR, names('big', CAP + 1))); // dropped; the hour's expiry stays
    const delta = view.refresh(T + 2 * HOUR);
    for (const json of delta?.changed ?? []) client.set(wire(json), json);
    for (const key of delta?.removed ?? []) client.delete(key);
    expect(delta?.removed).toHaveLength(CAP);
    expect([...client.values()]).toEqual(http());
    expect(http()).toEqual([]);
    view.close();
    host.stop();
  });

  it("names refused at the cap in one slice do not pile up in the counters' key cache", () => {
    const { w, sizes, rt } = topUsersAtCap();
    expect(sizes()).toEqual([CAP, CAP, CAP]);
    // 50 messages in the flood's slice, each naming 20 new users: each dropped at the cap, undone.
    for (let m = 0; m < 50; m++) rt.send(meeting(T + 10 + m, names(`refused${m}-`, 20)));
    expect(rt.inspect().counters.dropped.key_cap).toBe(50);
    expect(sizes()).toEqual([CAP, CAP, CAP]);
    // The key strings a counter keeps for its newest slice stay within what the slice held at
    // most (the cap, plus one message's 20 writes before its drop undid them), not one per name
    // ever refused (1000 here).
    for (const win of ['hour', 'day', 'week'] as const) {
      const cache = (w(win) as unknown as { recentKeys: Map<string, string> }).recentKeys;
      expect(cache.size, win).toBeLessThanOrEqual(CAP + 20);
    }
  });
});
