/**
 * The oldest and newest timestamps a SortedTimes keeps as fields (sorted-times.ts), which the
 * retention checks read once or twice a plugin-message: after every kind of write they must be
 * what `first` and `last` read from the slots (NaN where those are undefined), and a retention
 * must still evict exactly the rows older than its span behind the newest, whichever of the
 * three time indexes a row store has.
 */
import { describe, expect, it } from 'vitest';
import { RowStore } from '../../actors/row-store.js';
import { SortedTimes } from '../../actors/sorted-times.js';
import { mulberry32 } from '../helpers/seeded-random.js';

type U = { timestamp: number; user: string; volume: number };

const orNaN = (t: number | undefined) => (t === undefined ? Number.NaN : t);

function expectEnds(times: SortedTimes<unknown>): void {
  expect(times.oldest).toBe(orNaN(times.first));
  expect(times.newest).toBe(orNaN(times.last));
}

describe('the ends of a SortedTimes kept as fields', () => {
  for (const withValues of [false, true]) {
    it(`match first and last through appends, late and front inserts, removals at both ends and inside, compactions and fills (${withValues ? 'with' : 'without'} values)`, () => {
      const rnd = mulberry32(withValues ? 7 : 11);
      let times = new SortedTimes<number>(withValues);
      const present = new Set<number>();
      let newest = 1_000;
      expectEnds(times);
      for (let step = 0; step < 8000; step++) {
        const r = rnd();
        const sorted = [...present].sort((a, b) => a - b);
        if (r < 0.35 || (r < 0.7 && sorted.length === 0)) {
          // New newest, a late one, or older than every one present.
          const ts =
            r < 0.25
              ? ++newest
              : r < 0.3
                ? newest - Math.floor(rnd() * 80)
                : (sorted[0] ?? newest) - 1 - Math.floor(rnd() * 3);
          if (!present.has(ts)) {
            times.insert(ts, ts);
            present.add(ts);
          }
        } else if (r < 0.7) {
          const pick = rnd();
          const ts = (
            pick < 0.5 ? sorted[0] : pick < 0.7 ? sorted[sorted.length - 1] : sorted[Math.floor(rnd() * sorted.length)]
          ) as number;
          times.remove(ts);
          present.delete(ts);
        } else if (r < 0.995) {
          // A removal of what is not there changes nothing.
          times.remove(newest + 5);
        } else if (!withValues) {
          times = new SortedTimes<number>(false);
          times.fill(sorted);
        }
        expectEnds(times);
      }
      expect(times.elementMoves).toBeGreaterThan(0);
    });
  }

  it('empty again after the last timestamp goes, and an empty fill stays empty', () => {
    const times = new SortedTimes();
    times.insert(5);
    times.insert(3);
    expect([times.oldest, times.newest]).toEqual([3, 5]);
    times.remove(5);
    times.remove(3);
    expect([times.oldest, times.newest]).toEqual([Number.NaN, Number.NaN]);
    times.fill([]);
    expect([times.oldest, times.newest]).toEqual([Number.NaN, Number.NaN]);
  });
});

describe('retention over the ends kept as fields', () => {
  for (const [name, columns] of [
    ['grouped rows (timestamp, user)', ['timestamp', 'user']],
    ['one row per timestamp (timestamp), then by key string', ['timestamp']],
    ['rows in a Map with a timestamp index (user)', ['user']],
  ] as const) {
    it(`${name}: evicts exactly the rows older than the span behind the newest, after writes, deletes, rollbacks and evictions`, () => {
      const rows = new RowStore<U>([...columns]);
      const rnd = mulberry32(columns.length * 13 + name.length);
      const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
      let newest = 10_000;
      let evicted = 0;
      let step = 0;
      const put = () => {
        const r = rnd();
        const oldest = rows.oldestTimestamp ?? newest;
        const ts =
          r < 0.5
            ? (newest += 1 + Math.floor(rnd() * 20))
            : r < 0.8
              ? newest - Math.floor(rnd() * 60)
              : oldest - Math.floor(rnd() * 90);
        rows.put({ timestamp: ts, user: users[Math.floor(rnd() * users.length)] as string, volume: step });
      };
      for (; step < 3000; step++) {
        const r = rnd();
        if (r < 0.45) put();
        else if (r < 0.55 && rows.size > 0) {
          const keys = [...rows.keys()];
          rows.delete(keys[Math.floor(rnd() * keys.length)] as string);
        } else if (r < 0.65) {
          rows.beginMessage();
          put();
          put();
          rows.rollback();
        } else if (r < 0.9) {
          const span = 10 + Math.floor(rnd() * 100);
          const top = rows.newestTimestamp;
          const before = rows.size;
          const kept = [...rows.values()].filter((row) => top === undefined || row.timestamp >= top - span);
          const n = rows.evictOlderThan(span);
          evicted += n;
          expect(n).toBe(before - kept.length);
          expect(new Set(rows.values())).toEqual(new Set(kept));
        } else if (r < 0.95) rows.evictOldest(1 + Math.floor(rnd() * 3));
        else if (r < 0.98 && rows.newestTimestamp !== undefined) rows.evictAfter(rows.newestTimestamp - rnd() * 30);
        else if (columns.length === 1 && columns[0] === 'timestamp' && step > 1500) {
          // A key that is not String(timestamp): the rows move to a Map and an index of their own.
          rows.load('0100', { timestamp: 100, user: 'odd', volume: 0 });
        }
        expect(rows.newestOrNaN).toBe(orNaN(rows.newestTimestamp));
      }
      expect(evicted).toBeGreaterThan(50);
    });
  }
});
