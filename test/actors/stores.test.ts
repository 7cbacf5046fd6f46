import { describe, expect, it } from 'vitest';
import { ChangeLog, type ChangeCursor } from '../../actors/change-log.js';
import { KeyedStore } from '../../actors/keyed-store.js';
import { RowStore } from '../../actors/row-store.js';
import { formatDigest } from '../../actors/state-digest.js';
import { mulberry32 } from '../helpers/seeded-random.js';

type R = { timestamp: number; n: number };

/** Keys changed since a reader's cursor (deduplicated), moving the cursor to the end. */
const drain = (log: ChangeLog, cursor: ChangeCursor): string[] => {
  const keys = new Set<string>();
  expect(log.forEach(cursor.position, log.position, (_c, k) => void keys.add(k))).toBe(true);
  log.advance(cursor, log.position);
  return [...keys].sort();
};

describe('KeyedStore', () => {
  it('records every written and deleted key in the change log, read by each cursor independently', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog();
    s.attach(log, 1);
    const a = log.open();
    s.set('x', 1);
    const b = log.open();
    s.set('y', 2);
    s.delete('x');
    expect(drain(log, a)).toEqual(['x', 'y']);
    expect(drain(log, b)).toEqual(['x', 'y']);
    s.update('y', (v) => (v ?? 0) + 1);
    expect(drain(log, a)).toEqual(['y']);
    expect(s.get('y')).toBe(3);
    const seen: number[] = [];
    log.forEach(b.position, log.position, (c) => seen.push(c));
    expect(seen).toEqual([1]);
  });

  it('tells a reader that fell behind the bounded log to start over', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog(() => 0);
    s.attach(log, 0);
    const slow = log.open();
    for (let i = 0; i < 200_000; i++) s.set(`k${i % 10}`, i);
    // Capacity is the floor (16 384 entries): the slow reader's start is gone.
    expect(log.length).toBeLessThanOrEqual(16_384 + 4096);
    expect(log.covers(slow.position)).toBe(false);
    expect(log.forEach(slow.position, log.position, () => {})).toBe(false);
    const fresh = log.open();
    s.set('k1', -1);
    expect(drain(log, fresh)).toEqual(['k1']);
  });

  it('answers a cut with the values of its instant while writes go on', () => {
    const s = new KeyedStore<number>();
    s.set('a', 1);
    s.set('b', 2);
    s.openCut();
    s.set('a', 10);
    s.delete('b');
    s.set('c', 3);
    expect([s.valueAtCut('a'), s.valueAtCut('b'), s.valueAtCut('c')]).toEqual([1, 2, undefined]);
    expect([...s.deletedSinceCut()]).toEqual([['b', 2]]);
    s.closeCut();
    expect([s.valueAtCut('a'), s.valueAtCut('b')]).toEqual([10, undefined]);
  });

  it('rolls back exactly the writes of the current message', () => {
    const s = new KeyedStore<number>();
    s.set('keep', 1);
    s.beginMessage();
    s.set('keep', 2);
    s.set('keep', 3);
    s.set('new', 9);
    s.delete('keep');
    s.rollback();
    expect([...s.entries()]).toEqual([['keep', 1]]);
    s.beginMessage();
    s.set('new', 5);
    s.endMessage();
    s.rollback(); // nothing left to undo once the message ended
    expect(s.get('new')).toBe(5);
  });

  it('load() restores without logging changes', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog();
    s.attach(log, 0);
    const t = log.open();
    s.load('a', 1);
    expect(drain(log, t)).toEqual([]);
    expect(s.get('a')).toBe(1);
  });
});

describe('RowStore', () => {
  const fill = () => {
    const s = new RowStore<R>();
    for (const [k, ts] of [
      ['b', 20],
      ['a', 20],
      ['c', 10],
      ['d', 30],
      ['e', 5],
    ] as const)
      s.set(k, { timestamp: ts, n: ts });
    return s;
  };

  it('scans a time range in (timestamp, key) order both ways, inclusive bounds', () => {
    const s = fill();
    const keysOf = (rows: R[]) => rows.map((r) => `${r.timestamp}`);
    expect(keysOf([...s.scan({ order: 'asc' })])).toEqual(['5', '10', '20', '20', '30']);
    expect([...s.scan({ order: 'desc', start: 10, stop: 20 })].map((r) => r.timestamp)).toEqual([20, 20, 10]);
    expect(s.count({ start: 10, stop: 20 })).toBe(3);
    expect(s.count({ start: 31 })).toBe(0);
    expect(s.count({ start: 20, stop: 10 })).toBe(0);
  });

  it('scans from the skip-th row exactly as the full scan cut there, grouped or flat, both orders, any range', () => {
    type G = { timestamp: number; k: string };
    const random = mulberry32(7);
    const flat = new RowStore<G>(['k']);
    const grouped = new RowStore<G>(['timestamp', 'k']);
    for (let i = 0; i < 300; i++) {
      // Several rows share a timestamp, so skips end inside groups as well as between them.
      const row = { timestamp: 100 + Math.floor(random() * 60), k: `k${i}` };
      flat.put(row);
      grouped.put(row);
    }
    for (const store of [flat, grouped])
      for (const range of [
        { order: 'asc' as const },
        { order: 'desc' as const },
        { order: 'desc' as const, start: 120, stop: 140 },
      ]) {
        const all = [...store.scan(range)];
        for (const skip of [0, 1, 5, 17, 150, all.length - 1, all.length, all.length + 3])
          expect([...store.scan(range, skip)], `${JSON.stringify(range)} skip ${skip}`).toEqual(all.slice(skip));
      }
  });

  it('re-indexes a row whose timestamp changes and evicts old rows as deletions', () => {
    const s = fill();
    const log = new ChangeLog();
    s.attach(log, 0);
    const t = log.open();
    s.set('e', { timestamp: 40, n: 1 });
    expect(s.newestTimestamp).toBe(40);
    expect(s.oldestTimestamp).toBe(10);
    expect(s.evictBefore(20)).toBe(1);
    expect(s.has('c')).toBe(false);
    expect(drain(log, t)).toEqual(['c', 'e']);
    expect(s.count({})).toBe(4);
    expect([...s.scan({ order: 'asc' })].map((r) => r.timestamp)).toEqual([20, 20, 30, 40]);
  });

  it('loadAll() leaves the state, index and digest that load() entry by entry leaves, empty or not', () => {
    type K = R & { k: string };
    const rows: K[] = Array.from({ length: 300 }, (_, i) => ({ timestamp: i % 7, n: i, k: `k${i}` }));
    const state = (s: RowStore<K>) => ({
      rows: [...s.scan({ order: 'asc' })],
      counts: [0, 3, 6, 13].map((ts) => s.count({ start: ts, stop: ts })),
      digest: formatDigest([s.digest]),
    });
    // Rows in a Map with a timestamp index, and rows grouped by timestamp (grouped-rows.ts).
    for (const columns of [['k'], ['timestamp', 'k']]) {
      const one = new RowStore<K>(columns);
      const all = new RowStore<K>(columns);
      const keys = rows.map((r) => one.keyOf(r));
      for (const [i, key] of keys.entries()) one.load(key, rows[i] as K);
      all.loadAll(keys, rows);
      expect(state(all)).toEqual(state(one));
      expect(all.size).toBe(300);
    }
    // Into a store that holds the keys already, at other timestamps: each row moves in the index.
    const one = new RowStore<K>(['k']);
    const all = new RowStore<K>(['k']);
    const keys = rows.map((r) => r.k);
    all.loadAll(keys, rows);
    const moved = rows.map((r) => ({ ...r, timestamp: r.timestamp + 10 }));
    for (const [i, key] of keys.entries()) one.load(key, moved[i] as K);
    all.loadAll(keys, moved);
    expect(state(all)).toEqual(state(one));
    expect(all.count({ start: 0, stop: 9 })).toBe(0);
    expect(all.count({ start: 10, stop: 16 })).toBe(300);
  });

  it('an index loadAll() built in one pass takes later writes, deletes and evictions as one built entry by entry does', () => {
    type K = R & { k: string };
    const rnd = mulberry32(17);
    // Timestamps out of key order, some held by one row only, some by many; negative and fractional ones too.
    const rows: K[] = Array.from({ length: 400 }, (_, i) => ({
      timestamp: i % 50 === 0 ? 1000 + i : (Math.floor(rnd() * 23) - 5) / 2,
      n: i,
      k: `k${i}`,
    }));
    const keys = rows.map((r) => r.k);
    const one = new RowStore<K>(['k']);
    const all = new RowStore<K>(['k']);
    for (const [i, key] of keys.entries()) one.load(key, rows[i] as K);
    all.loadAll(keys, rows);
    const state = (s: RowStore<K>) => ({
      asc: [...s.scan({ order: 'asc' })].map((r) => r.k),
      desc: [...s.scan({ order: 'desc' }, 7)].map((r) => r.k),
      range: [...s.scan({ start: -1, stop: 3.5, order: 'asc' })].map((r) => r.k),
      counts: [-2.5, 0, 1000, 1050].map((ts) => s.count({ start: ts, stop: ts })),
      newest: s.newestTimestamp,
      oldest: s.oldestTimestamp,
      size: s.size,
      digest: formatDigest([s.digest]),
    });
    expect(state(all)).toEqual(state(one));
    const steps: ((s: RowStore<K>) => unknown)[] = [];
    for (let i = 0; i < 300; i++) {
      const r = rnd();
      const key = keys[Math.floor(rnd() * keys.length)] as string;
      const ts = (Math.floor(rnd() * 30) - 5) / 2;
      if (r < 0.5) steps.push((s) => s.set(key, { timestamp: ts, n: i, k: key }));
      else if (r < 0.8) steps.push((s) => s.delete(key));
      else if (r < 0.9) steps.push((s) => s.evictOldest(3));
      else steps.push((s) => s.evictAfter(9));
    }
    steps.push((s) => s.evictBefore(2));
    for (const [i, step] of steps.entries()) {
      expect(step(all)).toEqual(step(one));
      if (i % 25 === 0) expect(state(all)).toEqual(state(one));
    }
    expect(state(all)).toEqual(state(one));
  });

  it('keeps its index consistent through a rollback', () => {
    const s = fill();
    s.beginMessage();
    s.set('a', { timestamp: 99, n: 0 });
    s.delete('d');
    s.rollback();
    expect([...s.scan({ order: 'asc' })].map((r) => r.timestamp)).toEqual([5, 10, 20, 20, 30]);
    expect(s.newestTimestamp).toBe(30);
  });
});

describe('RowStore with one row per key rewritten at each newer timestamp (latest event per topic)', () => {
  /** A small deterministic generator (tests never use Math.random: failures must replay). */
  const lcg = (seed: number) => {
    let x = seed >>> 0;
    return () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x / 2 ** 32;
    };
  };
  type T = { timestamp: number; topic: string; n: number };

  it('moves keys between timestamps many times, then evicts exactly what a plain Map model evicts, in its order', () => {
    const rows = new RowStore<T>(['topic']);
    const log = new ChangeLog();
    rows.attach(log, 0);
    const cursor = log.open();
    const model = new Map<string, T>();
    // The keys per timestamp; an eviction takes whole timestamps oldest first, and of the one it takes in part
    // the last keys in key order, whatever order they arrived in.
    const at = new Map<number, Set<string>>();
    const put = (row: T) => {
      const previous = model.get(row.topic);
      if (previous !== undefined) {
        at.get(previous.timestamp)?.delete(row.topic);
        if (at.get(previous.timestamp)?.size === 0) at.delete(previous.timestamp);
      }
      model.set(row.topic, row);
      at.set(row.timestamp, (at.get(row.timestamp) ?? new Set()).add(row.topic));
    };
    const drop = (topic: string) => {
      const previous = model.get(topic) as T;
      model.delete(topic);
      at.get(previous.timestamp)?.delete(topic);
      if (at.get(previous.timestamp)?.size === 0) at.delete(previous.timestamp);
    };
    const evicted = (n: number) => {
      const out: string[] = [];
      for (const ts of [...at.keys()].sort((a, b) => a - b)) {
        const keys = [...(at.get(ts) as Set<string>)].sort();
        if (out.length + keys.length <= n) out.push(...keys);
        else return [...out, ...keys.slice(keys.length - (n - out.length))];
      }
      return out;
    };
    const rnd = lcg(5);
    let clock = 1_000;
    for (let step = 0; step < 12_000; step++) {
      const topic = `t${Math.floor(rnd() * 300)}`;
      const r = rnd();
      if (r < 0.85) {
        // Mostly a newer timestamp (its own, or shared with the last message); now and then a late one.
        if (rnd() < 0.7) clock += 1;
        const ts = rnd() < 0.05 ? clock - Math.floor(rnd() * 400) : clock;
        const row = { timestamp: ts, topic, n: step };
        rows.put(row);
        put(row);
      } else if (r < 0.9) {
        expect(rows.delete(topic)).toBe(model.has(topic));
        if (model.has(topic)) drop(topic);
      } else if (r < 0.997) {
        expect(rows.get(topic)).toBe(model.get(topic));
        continue;
      } else {
        drain(log, cursor);
        const which = rnd();
        let gone: string[];
        if (which < 0.4) {
          const n = Math.floor(rnd() * 80);
          gone = evicted(n);
          expect(rows.evictOldest(n)).toBe(gone.length);
        } else if (which < 0.8) {
          const cutoff = clock - Math.floor(rnd() * 600);
          gone = [...model.values()].filter((row) => row.timestamp < cutoff).map((row) => row.topic);
          expect(rows.evictBefore(cutoff)).toBe(gone.length);
        } else {
          const cutoff = clock - Math.floor(rnd() * 30);
          gone = [...model.values()].filter((row) => row.timestamp > cutoff).map((row) => row.topic);
          expect(rows.evictAfter(cutoff)).toBe(gone.length);
        }
        for (const topic of gone) drop(topic);
        expect(drain(log, cursor)).toEqual([...gone].sort());
      }
      expect(rows.size).toBe(model.size);
      const times = [...at.keys()];
      expect(rows.oldestTimestamp).toBe(times.length === 0 ? undefined : Math.min(...times));
      expect(rows.newestTimestamp).toBe(times.length === 0 ? undefined : Math.max(...times));
      if (step % 500 === 0) {
        expect([...rows.scan({ order: 'asc' })].map((row) => row.topic)).toEqual(
          [...model.values()]
            .sort((a, b) => a.timestamp - b.timestamp || (a.topic < b.topic ? -1 : 1))
            .map((row) => row.topic),
        );
        const [start, stop] = [clock - 500, clock - 100];
        expect(rows.count({ start, stop })).toBe(
          [...model.values()].filter((row) => row.timestamp >= start && row.timestamp <= stop).length,
        );
      }
    }
    expect(model.size).toBeGreaterThan(50);
    expect(new Map(rows.entries())).toEqual(model);
    // What is left goes oldest first, 7 at a time.
    while (model.size > 0) {
      const before = new Set(rows.keys());
      const gone = evicted(7);
      expect(rows.evictOldest(7)).toBe(gone.length);
      expect(new Set([...before].filter((k) => !rows.has(k)))).toEqual(new Set(gone));
      for (const topic of gone) drop(topic);
    }
    expect(rows.size).toBe(0);
    expect(rows.oldestTimestamp).toBeUndefined();
  });
});
