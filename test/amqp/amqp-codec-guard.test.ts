import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capTables, MALFORMED, TABLE_DEPTH_LIMIT, tableDepth } from '../../src/amqp-codec-guard.js';
import { decodeDelivery, TOO_DEEP, TOO_LARGE } from '../../src/amqp-message.js';

const require = createRequire(import.meta.url);
/** amqplib's codec module, as amqplib itself loads it (the guard replaced its decodeFields on import). */
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, table: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string | symbol, unknown>;
};

/** Encodes a table with amqplib's own encoder (its 4-byte length prefix stripped). */
function encoded(table: unknown): Buffer {
  const buffer = Buffer.alloc(65_536);
  const n = codec.encodeTable(buffer, table, 0);
  return buffer.subarray(4, n);
}

/**
 * `depth` levels in all: a table `{ k: … }` whose value nests tables (`F`: `{ k: { k: … } }`) or
 * arrays (`A`: `[[[ … ]]]`) down to `{ k: 'x' }`, built without recursion (amqplib's encoder would
 * overflow the stack first). Each level is its key (inside a table), its tag and its length.
 */
function nestedTable(depth: number, tag: 'F' | 'A' = 'F'): Buffer {
  const levels = Array.from({ length: depth - 1 }, (_, i) => ({
    // Level 0's parent is the outer table; an array's elements have no key.
    keyed: i === 0 || tag === 'F',
    tag: i === depth - 2 ? 'F' : tag,
  }));
  const total = levels.reduce((n, l) => n + (l.keyed ? 2 : 0) + 5, 0) + 8;
  const b = Buffer.alloc(total);
  let o = 0;
  for (const l of levels) {
    if (l.keyed) {
      b[o++] = 1;
      b[o++] = 0x6b; // 'k'
    }
    b[o++] = l.tag.charCodeAt(0);
    b.writeUInt32BE(total - o - 4, o);
    o += 4;
  }
  b[o++] = 1;
  b[o++] = 0x6b;
  b[o++] = 0x53; // 'S'
  b.writeUInt32BE(1, o);
  o += 4;
  b[o++] = 0x78; // 'x'
  return b;
}

describe("amqplib's header tables, decoded within a depth bound", () => {
  it('measures nesting without recursing, as amqplib encodes it', () => {
    expect(tableDepth(encoded({}), 100)).toBe(1);
    expect(tableDepth(encoded({ a: 1, b: 'x', c: true, d: null, e: 1.5 }), 100)).toBe(1);
    expect(tableDepth(encoded({ a: { b: { c: 1 } } }), 100)).toBe(3);
    expect(tableDepth(encoded({ a: [1, [2, [3]]], b: { c: 1 } }), 100)).toBe(4);
    // Typed values ('!': a timestamp) and byte arrays are values, not tables.
    expect(tableDepth(encoded({ x: Buffer.from('bytes'), t: { '!': 'timestamp', value: 5 } }), 100)).toBe(1);
    expect(tableDepth(nestedTable(10), 100)).toBe(10);
    expect(tableDepth(nestedTable(10, 'A'), 100)).toBe(10);
    // Stops counting past the limit.
    expect(tableDepth(nestedTable(5000), 50)).toBe(51);
    // Malformed (an unknown tag, a length past the end, a value past its array's end): MALFORMED.
    expect(tableDepth(Buffer.from([1, 0x6b, 0x3f]), 100)).toBe(MALFORMED);
    expect(tableDepth(Buffer.from([1, 0x6b, 0x46, 0, 0, 0, 99]), 100)).toBe(MALFORMED);
    // A 1-byte array holding a 4-byte value: amqplib reads on past the array, so would read the rest differently.
    expect(tableDepth(Buffer.from([1, 0x6b, 0x41, 0, 0, 0, 1, 0x49, 0, 0, 0, 7]), 100)).toBe(MALFORMED);
  });

  it('decodes a table past the bound as only the mark, where amqplib alone overflowed the stack', () => {
    for (const tag of ['F', 'A'] as const) {
      const deep = nestedTable(20_000, tag);
      const marked = codec.decodeFields(deep);
      expect(marked[TOO_DEEP], tag).toBeGreaterThan(TABLE_DEPTH_LIMIT);
      expect(Object.keys(marked)).toEqual([]);
    }
    // Within the bound: amqplib's own decoding, unchanged.
    expect(codec.decodeFields(encoded({ a: { b: [1, 'x'] }, s: 'y' }))).toEqual({ a: { b: [1, 'x'] }, s: 'y' });
    const within = codec.decodeFields(nestedTable(TABLE_DEPTH_LIMIT));
    expect(within[TOO_DEEP]).toBeUndefined();
    expect(Object.keys(within)).toEqual(['k']);
  });

  it('leaves a malformed table undecoded, however deep amqplib would have read it', () => {
    // An array whose declared length ends inside its first value; amqplib's reading runs on into
    // 8000 nested tables that the strict walk never sees as nesting.
    const deep = nestedTable(8000);
    const crafted = Buffer.concat([Buffer.from([1, 0x61, 0x41, 0, 0, 0, 1, 0x78]), deep.subarray(0, 4), deep]);
    const marked = codec.decodeFields(crafted);
    expect(marked[TOO_DEEP]).toBe(MALFORMED);
    const r = decodeDelivery(
      { routingKey: 'a.b.c.d', content: Buffer.from('{"a":1}'), messageId: 'm', headers: marked, redelivered: false },
      { maxFrameBytes: 10_000, maxDepth: 64, maxKeys: 1000, maxClockSkew: 300, nowSeconds: () => 1e9 },
    );
    expect(r).toMatchObject({ ok: false, reason: 'not_object', detail: expect.stringMatching(/not well formed/) });
  });

  it('refuses such a delivery as too_deep', () => {
    const headers = codec.decodeFields(nestedTable(20_000));
    const r = decodeDelivery(
      { routingKey: 'a.b.c.d', content: Buffer.from('{"a":1}'), messageId: 'm', headers, redelivered: false },
      { maxFrameBytes: 10_000, maxDepth: 64, maxKeys: 1000, maxClockSkew: 300, nowSeconds: () => 1e9 },
    );
    expect(r).toMatchObject({ ok: false, reason: 'too_deep' });
  });

  it('leaves a table over the byte cap undecoded, marked with its size, and refuses its delivery as oversized', () => {
    const table = encoded({ pad: 'y'.repeat(1000) });
    const limits = {
      maxFrameBytes: table.length - 1,
      maxDepth: 64,
      maxKeys: 1000,
      maxClockSkew: 300,
      nowSeconds: () => 1e9,
    };
    const delivery = (headers: unknown) =>
      decodeDelivery(
        { routingKey: 'a.b.c.d', content: Buffer.from('{"a":1}'), messageId: 'm', headers, redelivered: false },
        limits,
      );
    try {
      capTables(table.length); // at the cap: decoded
      expect(codec.decodeFields(table)['pad']).toBe('y'.repeat(1000));
      capTables(table.length - 1);
      const marked = codec.decodeFields(table);
      expect(Object.keys(marked)).toEqual([]);
      expect(marked[TOO_LARGE]).toBe(table.length);
      expect(delivery(marked)).toEqual({
        ok: false,
        reason: 'oversized',
        detail: `a headers table of ${table.length} bytes exceeds the ${table.length - 1}-byte limit (left undecoded)`,
      });
    } finally {
      capTables(Number.POSITIVE_INFINITY);
    }
  });
});
