import { describe, expect, it } from 'vitest';
import { CHECKED_BODY_START } from '../../snapshots/codec.js';
import { encodeJournalRecord } from '../../snapshots/journal-record.js';
import { recordWithinShape } from '../../snapshots/msgpack-shape.js';
import type { Envelope } from '../../src/envelope.js';
import { checkShape } from '../../src/envelope-limits.js';
import { samples } from '../helpers/fixtures.js';

/** Depth and members+elements of a value, counted independently of both implementations. */
function measure(value: unknown, depth = 1): { depth: number; keys: number } {
  if (typeof value !== 'object' || value === null) return { depth: 0, keys: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = depth;
  let keys = children.length;
  for (const child of children) {
    const m = measure(child, depth + 1);
    deepest = Math.max(deepest, m.depth);
    keys += m.keys;
  }
  return { depth: deepest, keys };
}

const within = (envelope: unknown, maxDepth: number, maxKeys: number) => {
  const record = encodeJournalRecord('id', envelope as Envelope);
  return recordWithinShape(record, CHECKED_BODY_START, record.byteLength, maxDepth, maxKeys);
};

const nested = (depth: number, leaf: unknown = 1): unknown => (depth === 0 ? leaf : { a: nested(depth - 1, leaf) });

describe('shape bounds read from a journal record', () => {
  it('hold exactly at each real envelope’s own depth and size, and fail one below either, as checkShape does', () => {
    for (const envelope of samples()) {
      const { depth, keys } = measure(envelope);
      expect(within(envelope, depth, keys)).toBe(true);
      expect(checkShape(envelope, depth, keys)).toBeNull();
      expect(within(envelope, depth - 1, keys)).toBe(false);
      expect(checkShape(envelope, depth - 1, keys)?.reason).toBe('too_deep');
      expect(within(envelope, depth, keys - 1)).toBe(false);
      expect(checkShape(envelope, depth, keys - 1)?.reason).toBe('too_many_keys');
    }
  });

  it('read every header width of strings, numbers, arrays and maps', () => {
    const big = (n: number) => Array.from({ length: n }, (_, i) => i);
    const wide = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 2 === 0 ? null : true]));
    const values: unknown[] = [
      { s: ['x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(40_000), 'x'.repeat(70_000)] },
      {
        n: [
          0,
          -1,
          -33,
          127,
          128,
          200,
          -200,
          40_000,
          -40_000,
          2 ** 31,
          -(2 ** 31) - 1,
          2 ** 40,
          -(2 ** 40),
          1.5,
          1e300,
          false,
        ],
      },
      { a: [big(15), big(16), big(70_000), [], {}, [[[]]]] },
      { m: [wide(15), wide(16), wide(70_000)] },
      { deep: nested(200), also: [nested(3), nested(5, [])] },
    ];
    for (const value of values) {
      const { depth, keys } = measure(value);
      expect(within(value, depth, keys)).toBe(true);
      expect(within(value, depth - 1, keys)).toBe(false);
      expect(within(value, depth, keys - 1)).toBe(false);
      expect(checkShape(value, depth, keys)).toBeNull();
    }
  });

  it('never vouch for what they cannot read: binary and extension values, and bytes cut short', () => {
    // checkShape walks a typed array's indexes; msgpackr writes undefined as an extension.
    expect(within({ b: new Uint8Array(4) }, 64, 1000)).toBe(false);
    expect(within({ u: undefined }, 64, 1000)).toBe(false);
    const record = encodeJournalRecord('id', { topic: 't', timestamp: 1, msg: { a: [1, 2, 3] } });
    expect(recordWithinShape(record, CHECKED_BODY_START, record.byteLength, 64, 1000)).toBe(true);
    for (let end = CHECKED_BODY_START; end < record.byteLength; end++)
      expect(recordWithinShape(record, CHECKED_BODY_START, end, 64, 1000)).toBe(false);
    // Not a journal record (a map of two): no verdict.
    const bare = encodeJournalRecord('id', { topic: 't', timestamp: 1, msg: {} });
    expect(recordWithinShape(bare, CHECKED_BODY_START + 1, bare.byteLength, 64, 1000)).toBe(false);
  });
});
