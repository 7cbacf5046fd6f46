/**
 * Time-based expiry of plugin containers (actors/containers.ts): an `expireAfter` store and a
 * windowed counter, driven by message time only, kept when a failing message is rolled back, recorded
 * as changes, counted, validated at registration, and kept across a real LMDB snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EXPIRY_SECONDS, MAX_SLICES } from '../../actors/containers.js';
import type { ExpiringStore } from '../../actors/expiring-store.js';
import { definePlugin, store, windowedCounter } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import type { WindowedCounter } from '../../actors/windowed-counter.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

type Row = { timestamp: number; key: string; n: number };
const stores = { seen: store<number>({ expireAfter: '10m' }), hits: windowedCounter('1h', { slices: 6 }) };

/** Topic `a.b.c.<key>` counts <key> in both containers; `boom` throws after writing. */
const plugin = definePlugin<Row, typeof stores>({
  name: 'Expiry probe',
  summary: 's',
  description: 'd',
  columns: ['key', 'n'],
  key: ['key'],
  stores,
  update(m, { stores: s }) {
    const key = m.topic.split('.')[3] ?? '';
    s.seen.update(key, (n) => (n ?? 0) + 1);
    s.hits.add(key, m.timestamp);
    if (key === 'boom') throw new Error('plugin bug');
  },
  view: ({ stores: s, newest }) =>
    [...s.seen.entries()].map(([key, n]) => ({ timestamp: newest ?? 0, key, n: n + s.hits.total(key) })),
});

const msg = (key: string, timestamp: number) =>
  createPluginMessage({ topic: `a.b.c.${key}`, timestamp, msg: {} }, deriveMeta);
function probe() {
  const errors: unknown[] = [];
  const host = new PluginHost(registerPlugins([plugin]), (_i, e) => errors.push(e));
  const rt = host.runtimes[0]!;
  const seen = rt.inspect().stores['seen'] as unknown as ExpiringStore<number>;
  return { host, rt, errors, seen, hits: rt.inspect().stores['hits']!, keys: () => [...seen.keys()].sort() };
}

const codeOf = (defs: unknown[]): string => {
  try {
    registerPlugins(defs);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('expireAfter store', () => {
  it('deletes entries once message time is more than expireAfter past their last write, oldest first, recording each as a change', () => {
    const { host, rt, seen, keys } = probe();
    const cursor = rt.openReader();
    const changes = new Set<string>();
    const drain = () => rt.changesSince(cursor, (container, key) => container === 'seen' && changes.add(key));
    rt.send(msg('a', 0));
    rt.send(msg('b', 300));
    rt.send(msg('c', 601)); // 601 - 0 > 600: a goes
    expect(keys()).toEqual(['b', 'c']);
    expect(rt.inspect().counters.expired).toBe(1);
    rt.send(msg('b', 700)); // b now lives until time passes 1300
    drain();
    changes.clear();
    rt.send(msg('d', 1302));
    expect(keys()).toEqual(['d']);
    drain();
    expect([...changes].sort()).toEqual(['b', 'c', 'd']);
    expect(rt.inspect().counters.expired).toBe(3);
    // Plugins see plain values; what is stored carries the message time of the last write.
    // The view adds seen (1) and the window's hits (1) for d: it got the plain value, not the stamped one.
    expect(rt.query({ order: 'asc', page: 1, rowsPerPage: 10, params: {} }).rows).toEqual([
      { timestamp: 1302, key: 'd', n: 2 },
    ]);
    expect(seen.get('d')).toEqual({ timestamp: 1302, value: 1 });
    host.stop();
  });

  it('a late write never moves a stamp back, and one already past expiry is not stored', () => {
    const { host, rt, seen, keys } = probe();
    rt.send(msg('d', 1302));
    rt.send(msg('d', 1000));
    expect(seen.get('d')).toEqual({ timestamp: 1302, value: 2 });
    rt.send(msg('z', 100)); // 1302 - 100 > 600
    expect(keys()).toEqual(['d']);
    host.stop();
  });

  it('expiry is committed before the update: a throwing message loses its own writes, never the expiry, which is done once', () => {
    const { host, rt, errors, keys } = probe();
    rt.send(msg('a', 0));
    rt.send(msg('boom', 700));
    expect(errors).toHaveLength(1);
    // a expired (700 - 0 > 600) and stays expired; boom's own write was rolled back.
    expect(keys()).toEqual([]);
    expect(rt.inspect().counters.expired).toBe(1);
    rt.send(msg('x', 700));
    expect(keys()).toEqual(['x']);
    expect(rt.inspect().counters.expired).toBe(1);
    host.stop();
  });
});

describe('windowedCounter', () => {
  it('keeps totals over the window incrementally and subtracts slices as they leave it', () => {
    const { host, rt, hits } = probe();
    const counter = hits as unknown as WindowedCounter;
    rt.send(msg('a', 0));
    rt.send(msg('a', 650));
    rt.send(msg('b', 1300));
    expect([counter.total('a'), counter.total('b'), counter.names]).toEqual([2, 1, 2]);
    // Window: 6 slices of 600 s ending in the slice of 4200, i.e. slices starting at 1200 and later.
    const cursor = rt.openReader();
    const tracker = new Set<string>();
    rt.send(msg('c', 4200));
    rt.changesSince(cursor, (container, key) => container === 'hits' && tracker.add(key));
    expect([counter.total('a'), counter.total('b'), counter.total('c')]).toEqual([0, 1, 1]);
    expect([...hits.keys()].sort()).toEqual(['1200\u001fb', '4200\u001fc']);
    expect([...tracker].sort()).toEqual(['0\u001fa', '4200\u001fc', '600\u001fa']);
    // A late message behind the window counts nothing.
    rt.send(msg('late', 1100));
    expect(counter.total('late')).toBe(0);
    expect(counter.add('late', 1199)).toBe(false);
    // A jump past the whole window expires every entry, and the runtime counts each.
    const before = rt.inspect().counters.expired;
    const entries = hits.size + rt.inspect().stores['seen']!.size;
    expect(entries).toBe(3); // slices 1200:b and 4200:c, and c in the expireAfter store
    rt.send(msg('d', 100_000));
    expect(rt.inspect().counters.expired - before).toBe(entries);
    expect([...counter.totals()]).toEqual([['d', 1]]);
    host.stop();
  });
});

describe('registration', () => {
  const base = { name: 'P', summary: 's', description: 'd', columns: ['k'], key: ['k'], update() {} };
  const withStore = (spec: unknown) => [{ ...base, stores: { s: spec } }];

  it('refuses a bad expiry or window with SC_PLUGIN_EXPIRY_INVALID naming the value', () => {
    expect(codeOf(withStore(store({ expireAfter: 'soon' })))).toMatch(
      /^SC_PLUGIN_EXPIRY_INVALID: plugin "P": store "s": "expireAfter" "soon"/,
    );
    expect(codeOf(withStore(store({ expireAfter: '0s' })))).toMatch(/SC_PLUGIN_EXPIRY_INVALID.*"0s"/);
    expect(codeOf(withStore(store({ expireAfter: -5 })))).toMatch(/SC_PLUGIN_EXPIRY_INVALID.*-5/);
    expect(codeOf(withStore({ kind: 'store', expireAfter: true }))).toMatch(/SC_PLUGIN_EXPIRY_INVALID.*true/);
    expect(codeOf(withStore(store({ expireAfter: '3651d' })))).toMatch(
      /SC_PLUGIN_EXPIRY_INVALID.*"3651d".*longer than/,
    );
    expect(codeOf(withStore(windowedCounter('1h', { slices: 0 })))).toMatch(
      /SC_PLUGIN_EXPIRY_INVALID.*"slices".*got 0/,
    );
    expect(codeOf(withStore(windowedCounter('1h', { slices: 1.5 })))).toMatch(/SC_PLUGIN_EXPIRY_INVALID.*got 1.5/);
    expect(codeOf(withStore(windowedCounter('100000s', { slices: MAX_SLICES + 1 })))).toMatch(
      /SC_PLUGIN_EXPIRY_INVALID.*got 10001/,
    );
    expect(codeOf(withStore(windowedCounter('1h', { slices: 7 })))).toMatch(
      /SC_PLUGIN_EXPIRY_INVALID.*span 3600 s.*7 slices/,
    );
    expect(codeOf(withStore(windowedCounter('1y', { slices: 1 })))).toMatch(/SC_PLUGIN_EXPIRY_INVALID.*"span" "1y"/);
    expect(codeOf(withStore({ kind: 'timer' }))).toMatch(
      /^SC_PLUGIN_FIELD_INVALID.*store "s" must be made with store\(\) or windowedCounter\(\)/,
    );
  });

  it('accepts the bounds themselves', () => {
    expect(MAX_EXPIRY_SECONDS).toBe(3650 * 86_400);
    expect(codeOf(withStore(store({ expireAfter: '3650d' })))).toBe('accepted');
    expect(codeOf(withStore(store({ expireAfter: 1 })))).toBe('accepted');
    expect(codeOf(withStore(windowedCounter(MAX_SLICES, { slices: MAX_SLICES })))).toBe('accepted');
    expect(codeOf(withStore(windowedCounter('3650d', { slices: 1 })))).toBe('accepted');
  });
});

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('expiry across a snapshot (real LMDB)', () => {
  it('restores stamps, slices and message time, then expires and removes from disk like live state', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = openSession(d.path, [plugin], { slots: 1 });
    for (const [k, t] of [
      ['a', 0],
      ['b', 300],
      ['c', 601],
    ] as const)
      a.host.runtimes[0]!.send(msg(k, t));
    await a.snapshotter.take();
    const raw = (s: typeof a) =>
      Object.fromEntries(
        Object.entries(s.host.runtimes[0]!.inspect().stores).map(([n, c]) => [n, [...c.entries()].sort()]),
      );
    const live = raw(a);
    await a.close();

    const b = openSession(d.path, [plugin], { slots: 1 });
    const rt = b.host.runtimes[0]!;
    expect(raw(b)).toEqual(live);
    // The view stamps its rows with the newest message time, restored with the state.
    expect(rt.query({ order: 'asc', page: 1, rowsPerPage: 10, params: {} }).rows.map((r) => r.timestamp)).toEqual([
      601, 601,
    ]);
    rt.send(msg('late', 0)); // message time survived the restart: 601 - 0 > 600, not stored
    expect([...rt.inspect().stores['seen']!.keys()].sort()).toEqual(['b', 'c']);
    rt.send(msg('d', 1302));
    expect([...rt.inspect().stores['seen']!.keys()]).toEqual(['d']);
    const report = await b.snapshotter.take();
    expect(report.removed).toBe(2); // one slot, written incrementally: b and c left the disk too
    await b.close();

    const c = openSession(d.path, [plugin], { slots: 1 });
    expect([...c.host.runtimes[0]!.inspect().stores['seen']!.keys()]).toEqual(['d']);
    await c.close();
  });

  it('keeps the message time a dropped message expired to, so a restored plugin judges a late message like a live one', async () => {
    const d = tempDir();
    dirs.push(d);
    const live = probe();
    const a = openSession(d.path, [plugin], { slots: 1 });
    for (const rt of [live.rt, a.host.runtimes[0]!]) {
      rt.send(msg('a', 0));
      rt.send(msg('boom', 700)); // dropped (throws), after its expiry of a (700 - 0 > 600) was committed
      expect(rt.inspect().stores['seen']!.size).toBe(0);
      expect(rt.stats().counters.lastMessageAt).toBe(0);
    }
    await a.snapshotter.take();
    await a.close();

    const b = openSession(d.path, [plugin], { slots: 1 });
    const restored = b.host.runtimes[0]!;
    for (const rt of [live.rt, restored]) {
      rt.send(msg('late', 50)); // behind expiry as of 700 (700 - 50 > 600): not stored
      expect(rt.inspect().stores['seen']!.size).toBe(0);
      rt.send(msg('e', 600)); // within it
    }
    expect([...restored.inspect().stores['seen']!.keys()]).toEqual(['e']);
    expect([...live.keys()]).toEqual(['e']);
    expect(restored.digest).toBe(live.rt.digest);
    live.host.stop();
    await b.close();
  });
});
