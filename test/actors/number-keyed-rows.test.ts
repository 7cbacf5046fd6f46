import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../actors/change-log.js';
import { rowKeyOf } from '../../actors/row-key.js';
import { RowStore } from '../../actors/row-store.js';
import { formatDigest } from '../../actors/state-digest.js';
import { mulberry32 } from '../helpers/seeded-random.js';

type V = { timestamp: number; volume: number };
const KEY = ['timestamp'] as const;

/**
 * Rows keyed by `timestamp` alone are kept by the number (number-keyed-rows.ts); a RowStore with
 * no key columns keeps them as every such store did before, a Map by key string with a
 * TimestampIndex beside it. Both are fed the same writes and must read the same throughout:
 * keys and values in the same order, scans, counts, evictions, the change log, digests, cuts.
 */
function pair(deferred: boolean) {
  const stores = [new RowStore<V>([...KEY]), new RowStore<V>([])] as const;
  // Rows stamped NaN among them: the structure as a trusted plugin's rows have it (values unchecked);
  // a checked plugin's row stamped NaN is refused (row-write.test.ts).
  for (const s of stores) s.checkValues = false;
  const logs = stores.map((s) => {
    const log = new ChangeLog();
    s.attach(log, 2);
    if (deferred) s.deferDigest();
    return { log, cursor: log.open() };
  });
  return { stores, logs };
}

function logged(log: ChangeLog, from: number): string[] {
  const out: string[] = [];
  log.forEach(from, log.position, (c, key) => out.push(`${c}:${key}`));
  return out;
}

function expectSame(a: RowStore<V>, b: RowStore<V>, probe: string): void {
  expect(a.get(probe)).toBe(b.get(probe));
  expect(a.has(probe)).toBe(b.has(probe));
  expect(a.size).toBe(b.size);
  expect(a.oldestTimestamp).toBe(b.oldestTimestamp);
  expect(a.newestTimestamp).toBe(b.newestTimestamp);
}

/** `deferred`: the digests are read (which settles them), then deferred again, as through a replay. */
function expectSameWhole(a: RowStore<V>, b: RowStore<V>, deferred = false): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  expect([...a.values()]).toEqual([...b.values()]);
  expect([...a.entries()]).toEqual([...b.entries()]);
  for (const order of ['asc', 'desc'] as const) {
    expect([...a.scan({ order })]).toEqual([...b.scan({ order })]);
    expect([...a.scan({ order, start: 1_030, stop: 1_090 }, 3)]).toEqual([
      ...b.scan({ order, start: 1_030, stop: 1_090 }, 3),
    ]);
  }
  expect(a.count({ start: 1_010, stop: 1_100 })).toBe(b.count({ start: 1_010, stop: 1_100 }));
  expect(formatDigest([a.digest])).toBe(formatDigest([b.digest]));
  if (deferred) for (const s of [a, b]) s.deferDigest();
}

describe('RowStore keyed by timestamp alone (rows by number)', () => {
  for (const deferred of [false, true]) {
    it(`reads, logs and digests as a Map by key string does through random writes, rollbacks, cuts and evictions${deferred ? ' (digest deferred)' : ''}`, () => {
      const { stores, logs } = pair(deferred);
      const [a, b] = stores;
      const rnd = mulberry32(deferred ? 5 : 3);
      // Bucket ends, and timestamps whose key is not plain digits: -0 and 0 are one key, "0".
      const odd = [0, -0, -60, 1.5, 1e21, 2 ** 53];
      const pick = () =>
        rnd() < 0.9 ? 1_000 + Math.floor(rnd() * 120) : (odd[Math.floor(rnd() * odd.length)] as number);
      let cutOpen = false;
      for (let step = 0; step < 5000; step++) {
        const ts = pick();
        const key = rowKeyOf(KEY, { timestamp: ts });
        const r = rnd();
        if (r < 0.5) {
          const volume = (a.get(key)?.volume ?? 0) + 1;
          expect(volume).toBe((b.get(key)?.volume ?? 0) + 1);
          // The plugin's row, one object for both stores (values are compared by identity).
          const row = { timestamp: ts, volume };
          if (r < 0.25) {
            a.set(key, row);
            b.set(key, row);
          } else {
            expect(a.put(row)).toBe(key);
            b.set(key, row);
          }
        } else if (r < 0.6) {
          expect(a.delete(key)).toBe(b.delete(key));
        } else if (r < 0.7) {
          // A message that writes, deletes and then throws: both take all of it back.
          const row = { timestamp: ts + 3, volume: 1 };
          for (const s of stores) {
            s.beginMessage();
            s.set(rowKeyOf(KEY, row), row);
            s.delete(key);
            s.rollback();
          }
        } else if (r < 0.72) {
          const n = Math.floor(rnd() * 4);
          expect(a.evictOldest(n)).toBe(b.evictOldest(n));
        } else if (r < 0.735) {
          const cutoff = 1_000 + Math.floor(rnd() * 30);
          expect(a.evictBefore(cutoff)).toBe(b.evictBefore(cutoff));
        } else if (r < 0.74) {
          const cutoff = 1_090 + Math.floor(rnd() * 30);
          expect(a.evictAfter(cutoff)).toBe(b.evictAfter(cutoff));
        } else if (r < 0.75) {
          for (const s of stores) {
            if (cutOpen) s.closeCut();
            else s.openCut();
          }
          cutOpen = !cutOpen;
        } else if (r < 0.76 && cutOpen) {
          expect([...a.deletedSinceCut()]).toEqual([...b.deletedSinceCut()]);
          expect(a.valueAtCut(key)).toBe(b.valueAtCut(key));
        }
        expectSame(a, b, key);
        if (step % 500 === 499) expectSameWhole(a, b, deferred);
      }
      expectSameWhole(a, b);
      expect(a.size).toBeGreaterThan(50);
      const [la, lb] = logs as [(typeof logs)[0], (typeof logs)[0]];
      expect(logged(la.log, la.cursor.position)).toEqual(logged(lb.log, lb.cursor.position));
      expect(logged(la.log, la.cursor.position).length).toBeGreaterThan(2000);
    });
  }

  it('holds keys other than String(timestamp) (loaded state) and rows whose timestamp is not a number, as a Map by key string does', () => {
    const { stores, logs } = pair(false);
    const [a, b] = stores;
    const rnd = mulberry32(9);
    const step = (n: number) => {
      for (let i = 0; i < n; i++) {
        const ts = 1_000 + Math.floor(rnd() * 40);
        const key = String(ts);
        if (rnd() < 0.8) {
          const row = { timestamp: ts, volume: (a.get(key)?.volume ?? 0) + 1 };
          a.set(key, row);
          b.set(key, row);
        } else expect(a.delete(key)).toBe(b.delete(key));
        expectSame(a, b, key);
      }
    };
    step(500);
    expectSameWhole(a, b);
    // A key with a leading zero, and a row under a key naming another timestamp: only a restore writes them.
    for (const [key, row] of [
      ['01010', { timestamp: 1_010, volume: 7 }],
      ['1020', { timestamp: 1_021, volume: 8 }],
    ] as const) {
      a.load(key, row);
      b.load(key, row);
      expectSame(a, b, key);
    }
    expectSameWhole(a, b);
    step(500);
    // A timestamp that is not a number is refused nowhere in the store: its key is its string.
    const nan = { timestamp: Number.NaN, volume: 1 };
    expect(a.put(nan)).toBe('NaN');
    b.set('NaN', nan);
    step(200);
    expect(a.get('01010')).toEqual({ timestamp: 1_010, volume: 7 });
    expectSameWhole(a, b);
    expect(a.evictBefore(1_030)).toBe(b.evictBefore(1_030));
    expectSameWhole(a, b);
    const [la, lb] = logs as [(typeof logs)[0], (typeof logs)[0]];
    expect(logged(la.log, la.cursor.position)).toEqual(logged(lb.log, lb.cursor.position));
  });

  it('restores loaded rows in the order given, as the Map by key string does', () => {
    const keys = ['1010', '1000', '990', '1020', '0'];
    const values = keys.map((k) => ({ timestamp: Number(k), volume: 1 }));
    const a = new RowStore<V>([...KEY]);
    const b = new RowStore<V>([]);
    a.loadAll(keys, values);
    b.loadAll(keys, values);
    expectSameWhole(a, b);
    expect([...a.keys()]).toEqual(keys);
  });
});
