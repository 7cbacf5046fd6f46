/**
 * Containers keep only data a snapshot stores and a view serves unchanged (storable-value.ts).
 * Before, a plugin that kept a bigint past 64 bits (or a cycle, a symbol) made every snapshot
 * fail from then on, so the journal could not be trimmed; one that kept a Map got a plain
 * object back after a restart. Now the write throws, and that message is lost for that plugin
 * only, like any other throw in `update`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import type { KeyedStore } from '../../actors/keyed-store.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { freezeStored, MAX_VALUE_DEPTH, unstorable } from '../../actors/storable-value.js';
import { applyRetention, builtinPlugins, onlyBuiltins } from '../../plugins/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { buildPluginHost } from '../../src/plugin-host-builder.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

const nest = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { v };
  return v;
};

class Point {
  constructor(readonly x: number) {}
}

describe('unstorable()', () => {
  it('passes plain data: nested objects and arrays, null-prototype objects, undefined members, NaN, the deepest allowed', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare['a'] = [1, 'b', null, true, undefined, Number.NaN, -0];
    for (const v of [
      0,
      'x',
      false,
      null,
      undefined,
      { a: { b: [1, { c: 'd' }] } },
      bare,
      [],
      {},
      nest(MAX_VALUE_DEPTH),
    ])
      expect(unstorable(v)).toBeNull();
  });

  it('names what is refused and where, for every kind msgpack refuses or brings back different', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle['self'] = cycle;
    const cases: [unknown, RegExp][] = [
      [10n ** 30n, /^the value is a bigint/],
      [5n, /^the value is a bigint/],
      [Symbol('s'), /^the value is a symbol/],
      [() => 1, /^the value is a function/],
      [new Map([['a', 1]]), /^the value is a Map;/],
      [new Set([1]), /^the value is a Set;/],
      [new Date(0), /^the value is a Date;/],
      [new Uint8Array(2), /^the value is a Uint8Array;/],
      [new Point(1), /^the value is a Point;/],
      [{ a: [1, { b: new Map() }] }, /^\.a\[1\]\.b is a Map; keep only plain objects/],
      [{ a: { f: () => 0 } }, /^\.a\.f is a function/],
      [[1, 2, 3n], /^\[2\] is a bigint/],
      [cycle, /nests deeper than 32 levels \(or refers to itself\)/],
      [nest(MAX_VALUE_DEPTH + 1), /nests deeper than 32 levels/],
    ];
    for (const [value, why] of cases) expect(unstorable(value)).toMatch(why);
  });

  it('freezes what it passes, deep, and leaves strings and numbers as they are', () => {
    const row = { a: { b: [1, { c: 2 }] } };
    expect(unstorable(row)).toBeNull();
    expect(Object.isFrozen(row)).toBe(true);
    expect(Object.isFrozen(row.a.b)).toBe(true);
    expect(Object.isFrozen(row.a.b[1])).toBe(true);
  });

  it('freezes a value read back from a snapshot, every object and array in it, flat or nested', () => {
    const flat = { timestamp: 1, user: 'ann', n: 2 };
    freezeStored(flat);
    expect(Object.isFrozen(flat)).toBe(true);
    const nested = { a: [1, { b: [[2], { c: null }] }], d: { e: 'x' } };
    freezeStored(nested);
    const parts = [nested, nested.a, nested.a[1], nested.d] as object[];
    const inner = (nested.a[1] as { b: [number[], object] }).b;
    parts.push(inner, inner[0], inner[1]);
    expect(parts.map((p) => Object.isFrozen(p))).toEqual(parts.map(() => true));
    const list = [{ n: 1 }, [{ m: 2 }]];
    freezeStored(list);
    expect([list, list[0], list[1], (list[1] as object[])[0]].every((p) => Object.isFrozen(p))).toBe(true);
  });
});

type Row = { timestamp: number; user: string; n: number };
/**
 * Counts per user; a message whose body says `keep` stores that kind of value beside the count,
 * and one that says `mutate` changes the user's stored row in place.
 */
const keeper = definePlugin({
  name: 'Keeper',
  summary: 's',
  description: 'd',
  rows: rowsOf<Row>(),
  columns: ['user', 'n'],
  key: ['user'],
  stores: { extra: store<unknown>(), n: store<number>() },
  update(m, { rows, stores }) {
    const { user, keep, mutate } = m.body as { user: string; keep?: string; mutate?: boolean };
    const n = (stores.n.get(user) ?? 0) + 1;
    stores.n.set(user, n);
    if (mutate) {
      const row = rows.get(rows.keyOf({ user })) as { n: number } | undefined;
      if (row) row.n = 1000;
    }
    rows.put({ timestamp: m.timestamp, user, n });
    if (keep === 'big') stores.extra.set(user, { total: 10n ** 30n });
    if (keep === 'map') stores.extra.set(user, new Map([[user, n]]));
    if (keep === 'plain') stores.extra.set(user, { seen: [m.timestamp] });
  },
});

const T = Math.floor(Date.now() / 1000) - 3600;
let seq = 0;
const body = (user: string, more: object = {}) => ({
  topic: 'org.fedoraproject.prod.test.keep',
  timestamp: T + ++seq,
  msg_id: `keep-${seq}`,
  msg: { user, ...more },
});

describe('a plugin that keeps a value that is not data', () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => {
    for (const c of cleanups) c();
  });
  it('loses that message only: rolled back, counted as update_error, reported with the path', () => {
    const errors: string[] = [];
    const host = new PluginHost(registerPlugins([keeper]), (_ident, err) => errors.push((err as Error).message));
    const rt = host.get('keeper');
    if (!rt) throw new Error('not registered');
    const send = (user: string, more?: object) => rt.send(createPluginMessage(body(user, more) as never, deriveMeta));
    send('ann');
    send('ann', { keep: 'map' });
    send('bob', { keep: 'big' });
    send('ann', { keep: 'plain' });
    send('ann', { mutate: true });
    send('bob');
    const { counters, rows, stores } = rt.inspect();
    expect(counters).toMatchObject({ received: 6, applied: 3, dropped: { update_error: 3 } });
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^cannot keep the value for key "ann": the value is a Map; keep only plain objects/);
    expect(errors[1]).toMatch(/^cannot keep the value for key "bob": \.total is a bigint/);
    // A row stored earlier cannot be changed in place: the container froze it.
    expect(errors[2]).toMatch(/read.only|Cannot assign/);
    // Each refused message's writes were rolled back (its count too); the stored row is unchanged.
    expect([...(stores['n']?.entries() ?? [])].sort()).toEqual([
      ['ann', 2],
      ['bob', 1],
    ]);
    expect([...(stores['extra']?.keys() ?? [])]).toEqual(['ann']);
    expect([...rows.values()].map((r) => [(r as Row).user, (r as Row).n]).sort()).toEqual([
      ['ann', 2],
      ['bob', 1],
    ]);
    host.stop();
  });

  it('leaves snapshots working: the state comes back whole after a restart, digest and all', async () => {
    const dir = tempDir();
    const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, snapshotInterval: 3600 } });
    const build = () => Service.build({ config, logger: createLogger('silent'), plugins: [keeper] });
    cleanups.push(() => dir.remove());
    const s = await build();
    await s.recover();
    for (const m of [body('ann'), body('bob', { keep: 'big' }), body('ann', { keep: 'plain' }), body('cy')])
      s.accept(m as never);
    await s.settled();
    // Before: "1000000000000000000000000000000 was too large to fit in MessagePack 64-bit integer format", every time.
    const first = await s.snapshot();
    expect(first.generation).toBeGreaterThan(0);
    const before = s.host.get('keeper')?.stats();
    const state = (svc: Service) => {
      const stores = svc.host.get('keeper')?.inspect().stores;
      return { extra: [...(stores?.['extra']?.entries() ?? [])], n: [...(stores?.['n']?.entries() ?? [])].sort() };
    };
    const kept = state(s);
    expect(kept.extra).toEqual([['ann', { seen: [T + seq - 1] }]]);
    await s.close();
    const again = await build();
    try {
      await again.recover();
      expect(again.restored.meta?.generation).toBe(first.generation);
      expect(state(again)).toEqual(kept);
      expect(again.host.get('keeper')?.stats().digest).toBe(before?.digest);
      // Restored rows are frozen as written ones are: changing one in place fails that message.
      again.accept(body('ann', { mutate: true }) as never);
      await again.settled();
      const rt = again.host.get('keeper');
      expect(rt?.inspect().counters.dropped.update_error).toBe(1);
      expect([...(rt?.inspect().rows.values() ?? [])].map((r) => (r as Row).n).sort()).toEqual([1, 2]);
    } finally {
      await again.close();
    }
  }, 30_000);
});

describe('who is checked', () => {
  const config = loadConfig({ env: {}, flags: {} });
  const checked = (host: PluginHost) =>
    host.runtimes.map((rt) => {
      const { rows, stores } = rt.inspect();
      const all = [rows, ...Object.values(stores)] as unknown as KeyedStore<unknown>[];
      return [rt.ident, all.every((c) => c.checkValues), all.every((c) => !c.checkValues)];
    });

  it('the built-in plugins alone are trusted (as their messages are not frozen); any other plugin loaded, every one is checked', () => {
    expect(onlyBuiltins(builtinPlugins())).toBe(true);
    // A retention override copies each definition; its functions, what the built-ins are known by, stay.
    expect(onlyBuiltins(applyRetention(builtinPlugins(), { '1m': '2h' }))).toBe(true);
    expect(onlyBuiltins([...builtinPlugins(), keeper])).toBe(false);
    expect(onlyBuiltins([{ ...builtinPlugins()[0], update: () => {} }])).toBe(false);

    const trusted = buildPluginHost(config, builtinPlugins(), () => {});
    expect(new Set(checked(trusted).map(([, on, off]) => `${on}/${off}`))).toEqual(new Set(['false/true']));
    trusted.stop();
    const mixed = buildPluginHost(config, [...builtinPlugins(), keeper], () => {});
    expect(new Set(checked(mixed).map(([, on, off]) => `${on}/${off}`))).toEqual(new Set(['true/false']));
    mixed.stop();
    // A host built directly (the plugins' own tests) checks.
    const direct = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    expect(new Set(checked(direct).map(([, on]) => on))).toEqual(new Set([true]));
    direct.stop();
  });
});
