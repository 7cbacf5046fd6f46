import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../actors/change-log.js';
import { headUnits } from '../../actors/entry-walk.js';
import { rowKeyOf, SEP } from '../../actors/row-key.js';
import { RowStore } from '../../actors/row-store.js';
import { formatDigest } from '../../actors/state-digest.js';

// A settle hands a timestamp's head to the hash as units, not as String(ts) (entry-walk.ts
// headUnits): every digit count, the powers of ten where the count changes, 0 and -0, the
// largest safe integer and past it, and numbers whose String() is not plain digits.
const TIMESTAMPS = [
  0,
  -0,
  1,
  7,
  9,
  10,
  11,
  99,
  100,
  101,
  999_999_999,
  1_000_000_000,
  1_700_000_000,
  2 ** 31,
  2 ** 32 + 5,
  10 ** 15,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 53 + 2,
  1e21,
  1.5,
  -60,
  0.1,
];

describe('a settle of rows by timestamp', () => {
  it('writes the units of String(ts), with the separator when asked, or answers -1 for a number other than 0 ≤ ts < 2^53 whole', () => {
    const into = new Int32Array(17);
    for (const ts of TIMESTAMPS)
      for (const sep of [false, true]) {
        const n = headUnits(ts, sep, into);
        const want = String(ts) + (sep ? SEP : '');
        // Past 2^53 String() may still be plain digits, but the walk takes it as a string.
        if (Number.isSafeInteger(ts) && ts >= 0) expect(String.fromCharCode(...into.subarray(0, n)), want).toBe(want);
        else expect(n, String(ts)).toBe(-1);
      }
  });

  for (const key of [['timestamp'], ['timestamp', 'user']]) {
    it(`gives the digest kept write by write, keyed by ${key.join(' and ')}`, () => {
      const kept = new RowStore<{ timestamp: number; user: string; volume: number }>(key);
      const deferred = new RowStore<{ timestamp: number; user: string; volume: number }>(key);
      for (const s of [kept, deferred]) {
        s.checkValues = false;
        s.attach(new ChangeLog(), 3);
      }
      deferred.deferDigest();
      for (const [i, ts] of TIMESTAMPS.entries())
        for (const user of ['a', 'bb', '']) {
          const row = { timestamp: ts, user, volume: i };
          for (const s of [kept, deferred]) s.set(rowKeyOf(key, row), row);
        }
      expect(deferred.digest.deferred).toBe(true);
      expect(deferred.size).toBeGreaterThan(TIMESTAMPS.length - 3);
      expect(formatDigest([deferred.digest])).toBe(formatDigest([kept.digest]));
      expect(deferred.digest.deferred).toBe(false);
    });
  }
});
