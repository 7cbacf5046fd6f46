import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../src/msgpack-strings.js';
import { prepareFrameParts, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decode, encode, encodeChecked, encodeCheckedAt } from '../../snapshots/codec.js';
import { readPlain } from '../../snapshots/msgpack-read.js';
import { NO_ROOM, writePlain } from '../../snapshots/msgpack-write.js';
import { samples } from '../helpers/fixtures.js';

const target = Buffer.alloc(1 << 20);

/** writePlain's bytes for `value`, at an odd place in a larger buffer, or null when it leaves it to msgpackr. */
function written(value: unknown, at = 13, size = target.length): Buffer | null {
  // Not zeros where it writes: nothing it leaves out passes for a zero byte.
  target.fill(0x5a, 0, Math.min(target.length, at + size + 64));
  const end = writePlain(value, target, at);
  return end < 0 ? null : Buffer.from(target.subarray(at, end));
}

/** writePlain writes exactly msgpackr's bytes for `value`, which decode back to it (msgpackr's reader and ours). */
function same(value: unknown): void {
  const theirs = encode(value);
  const mine = written(value, 13, theirs.byteLength);
  expect(mine, 'left to msgpackr').not.toBeNull();
  if (!(mine as Buffer).equals(theirs)) {
    // Where they part, with a few bytes around it: a record's whole hex says little.
    let at = 0;
    while (mine?.[at] === theirs[at]) at++;
    const around = (b: Uint8Array) => Buffer.from(b.subarray(Math.max(0, at - 8), at + 8)).toString('hex');
    expect({ at, bytes: around(mine as Buffer) }).toEqual({ at, bytes: around(theirs) });
  }
  const back = decode(mine as Buffer);
  expect(isDeepStrictEqual(back, decode(theirs))).toBe(true);
  const plain = readPlain(mine as Buffer, 0, (mine as Buffer).byteLength);
  if (plain !== undefined) expect(isDeepStrictEqual(plain, back)).toBe(true);
}

/** A deterministic generator, so a failure names its case. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Every number format's edges, each side, both signs; fractions, -0, NaN and the infinities. */
const NUMBERS = [
  ...[0, 1, 31, 32, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53],
  ...[-1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2 ** 31) + 1, -(2 ** 31), -(2 ** 31) - 1],
  ...[-(2 ** 53), 0.5, -0.5, 1.5, 0.1, 1e-300, 3.4e38, 1.7976931348623157e308, 1_700_000_000.123, -0],
  ...[Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, -Number.MIN_VALUE],
];

/** One of each UTF-8 length, and both lone surrogates. */
const PIECES = ['a', '\u0000', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '€', '\uffff', '😀', '\ud800', '\udfff'];

describe('msgpack write', () => {
  it("writes every fixture record msgpackr's way, as captured and as the bus thread prepares it", () => {
    const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
    let prepared = 0;
    for (const [i, envelope] of samples().entries()) {
      same({ id: `some-id#${i}`, envelope });
      const parts = prepareFrameParts(
        [Buffer.from(envelope.topic), Buffer.from(JSON.stringify(envelope))],
        limits,
        () => 1_700_000_000.5,
      );
      if (parts.kind !== 'ready') continue;
      same({ id: parts.id, envelope: parts.envelope });
      prepared++;
    }
    expect(prepared).toBe(510);
  });

  it('writes numbers at every format edge, fractions, -0, NaN and the infinities as msgpackr does', () => {
    for (const n of NUMBERS) {
      same(n);
      same({ n, list: [n, -n, n + 1, n - 1] });
    }
  });

  it('writes strings of every header edge, in UTF-16 units and in UTF-8 bytes, as msgpackr does', () => {
    // Lengths around every edge of the header msgpackr guesses from the units and the one the bytes take.
    const edges = [0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 85, 86, 127, 128, 255, 256, 257, 21_845, 21_846];
    const lengths = [...edges, 32_767, 32_768, 65_535, 65_536, 65_537, 70_000];
    for (const n of lengths)
      for (const piece of PIECES) {
        const units = Math.max(0, Math.ceil(n / piece.length));
        same(piece.repeat(units));
        // One byte shorter or longer in UTF-8 than the repeat alone: the other side of a byte edge.
        same(`${piece.repeat(Math.max(0, units - 1))}a`);
        if (n < 300) same({ [piece.repeat(units)]: piece.repeat(units) });
      }
  });

  it('writes random mixes of every kind of character, in every string format, as msgpackr does', () => {
    const next = random(7);
    for (const n of [0, 1, 3, 15, 16, 31, 32, 33, 63, 64, 65, 255, 256, 300, 70_000]) {
      for (let round = 0; round < 12; round++) {
        let s = '';
        for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
        same({ [s.slice(0, 40)]: s, s });
      }
    }
  });

  it('writes a map key the same when it was written before, at every length and past the cache of known keys', () => {
    // Every ASCII length of a fixstr and past it, each key written twice (the second time from
    // the words kept of the first), then again after more keys than are kept.
    const keys = Array.from({ length: 40 }, (_, n) => 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH'.slice(0, n));
    for (let round = 0; round < 2; round++)
      for (const k of keys) {
        same({ [k]: 1, [`${k}é`]: k, list: [{ [k]: null }] });
        // Followed by a one-byte value and the map's end: nothing of the key's last word is left in the bytes.
        same([{ [k]: true }, { [k]: [] }]);
      }
    for (let i = 0; i < 5_000; i++) same({ [`many-keys-${i}`]: i, [keys[i % 40] as string]: i });
    // In the room str() asks for, whether or not the key was written before.
    const small = Buffer.alloc(64);
    const key = 'x'.repeat(17);
    for (let round = 0; round < 2; round++) {
      expect(writePlain({ [key]: 1 }, small, 10)).toBe(NO_ROOM);
      expect(writePlain({ [key]: 1 }, small, 4)).toBe(24);
    }
  });

  it('writes arrays and maps at every header edge, and nested deep, as msgpackr does', () => {
    for (const n of [0, 1, 15, 16, 17, 255, 256, 65_535, 65_536]) {
      same(Array.from({ length: n }, (_, i) => i % 3));
      const map: Record<string, number> = {};
      for (let i = 0; i < n; i++) map[`k${i}`] = i & 0x7f;
      same(map);
    }
    let deep: unknown = 'leaf';
    for (let i = 0; i < 1_000; i++) deep = i % 2 === 0 ? [deep, i] : { d: deep, '': null };
    same(deep);
    // Integer-like keys come first in their numeric order, as Object.keys has them.
    same(JSON.parse('{"b":1,"2":2,"a":3,"1":4,"__proto__":5,"toJSON":6}'));
  });

  it('writes random JSON values as msgpackr does', () => {
    const next = random(11);
    const value = (depth: number): unknown => {
      const r = next();
      if (depth > 4 || r < 0.4) {
        const k = Math.floor(next() * 6);
        if (k === 0) return NUMBERS[Math.floor(next() * NUMBERS.length)];
        if (k === 1) return Math.round((next() - 0.5) * 2 ** Math.floor(next() * 40));
        if (k === 2) return [null, true, false][Math.floor(next() * 3)];
        let s = '';
        const n = Math.floor(next() * (k === 3 ? 300 : 40));
        for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
        return s;
      }
      // Now and then past a fixmap's or fixarray's 15: at the top only, or values grow past the target's 1 MiB.
      const n = Math.floor(next() * (depth === 0 && next() < 0.3 ? 40 : 7));
      if (r < 0.65) return Array.from({ length: n }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[String(value(6))] = value(depth + 1);
      return out;
    };
    for (let i = 0; i < 2_000; i++) same(value(0));
    // 2,000 values up to 1 MiB each, written and compared both ways: ~6 s in CI, 27–39 s with the
    // machine's two cores loaded by callgrind runs beside it.
  }, 120_000);

  it("writes undefined and an array's holes as msgpackr does, though no record holds them", () => {
    same({ a: undefined, b: [1, undefined, 2] });
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case
    same([1, , 3]);
  });

  it('leaves to msgpackr an object whose own constructor member is not Object, which packs it whole', () => {
    // msgpackr takes such an object down its class path, where a toJSON member (a string here)
    // was called and threw: the codec packs with useToJSON off (e2e/prototype-named-members).
    for (const text of [
      '{"page":{"constructor":"Main","toJSON":"yes","valueOf":1,"hasOwnProperty":[]}}',
      '{"a":[{"toJSON":{"constructor":1},"constructor":"x"}]}',
    ]) {
      const value: unknown = JSON.parse(text);
      expect(written(value, 13, 256)).toBeNull();
      expect(decode(encode(value))).toEqual(value);
    }
    same(JSON.parse('{"toJSON":"yes","valueOf":1}'));
  });

  it('leaves to msgpackr what is not a plain JSON value, and what would not fit', () => {
    class Thing {
      a = 1;
    }
    const others: unknown[] = [
      new Date(0),
      new Uint8Array([1, 2]),
      Buffer.from('x'),
      new Map([[1, 2]]),
      new Set([1]),
      2n,
      new Thing(),
      Object.create(null),
      // msgpackr asks such an object for its toJSON (and throws when it is not a function).
      JSON.parse('{"constructor":"x"}'),
      // Its constructor is Object, but for-in would walk the inherited `a` that msgpackr leaves out.
      Object.assign(Object.create({ a: 1 }), { b: 2 }),
      () => 1,
      Symbol('s'),
      /x/,
    ];
    for (const v of others) {
      expect(written(v)).toBeNull();
      expect(written({ envelope: { msg: [v] } })).toBeNull();
    }
    const proto = Object.prototype as Record<string, unknown>;
    proto['polluted'] = 1;
    try {
      expect(written({ a: 1 })).toBeNull();
      expect(written([1, 'x'])).toBeNull();
    } finally {
      delete proto['polluted'];
    }
    same({ a: 1 });
    const small = Buffer.alloc(64);
    // Room for the longest header and 3 bytes per UTF-16 unit, or none at all.
    expect(writePlain('x'.repeat(19), small, 2)).toBe(22);
    expect(writePlain('x'.repeat(20), small, 0)).toBe(NO_ROOM);
    expect(writePlain([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5], small, 0)).toBe(64);
    expect(writePlain([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5], small, 0)).toBe(NO_ROOM);
    // Out of room, but not written here either way: msgpackr's.
    expect(writePlain([new Uint8Array(1)], small, 0)).toBe(-1);
  });

  it("frames a record in place with encodeChecked's bytes, and falls back to msgpackr's where it must", () => {
    const space = Buffer.alloc(16_384);
    const records: unknown[] = samples().map((envelope, i) => ({ id: `x#${i}`, envelope }));
    // Left to msgpackr: a typed array, and a record outgrowing the room after `at`.
    records.push({ id: 'b', envelope: { topic: 't', timestamp: 1, msg: { raw: new Uint8Array([1, 2, 3]) } } });
    records.push({ id: 'big', envelope: { topic: 't', timestamp: 1, msg: 'é'.repeat(9_000) } });
    for (const record of records)
      for (const at of [0, 5, 8, 4_000]) {
        const want = Buffer.from(encodeChecked(record));
        const out = encodeCheckedAt(record, space, at);
        expect(out.equals(want)).toBe(true);
        if (out.buffer === space.buffer) expect(out.byteOffset).toBe((at + 7) & ~7);
      }
  });

  it("frames values with encodeChecked as msgpackr's bytes behind their SHA-1, in its slab or msgpackr's", () => {
    const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
    const values: unknown[] = [];
    for (const [i, envelope] of samples().entries()) {
      values.push({ id: `x#${i}`, envelope });
      const parts = prepareFrameParts(
        [Buffer.from(envelope.topic), Buffer.from(JSON.stringify(envelope))],
        limits,
        () => 1,
      );
      if (parts.kind === 'ready') values.push({ id: parts.id, envelope: parts.envelope });
      // A snapshot's values: rows, counts, lists.
      values.push(i, { timestamp: 1_700_000_000 + i, user: `u${i}`, n: i * 7 }, [i, -i, i / 3]);
    }
    values.push(...NUMBERS, ...PIECES, null, true, '', [], {});
    for (const value of values) framed(value, encodeChecked(value));
  });

  it('hands out slab views that later encodes never write over, through rollovers, fallbacks and values larger than a slab', () => {
    const next = random(11);
    const records = samples().map((envelope, i) => ({ id: `y#${i}`, envelope }));
    const held: { value: unknown; out: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < 3_000; i++) {
      const r = next();
      // Mostly records of every size; now and then one larger than any slab, one msgpackr's
      // alone (a typed array), one of odd length, or msgpackr's own encode() in between.
      const value =
        r < 0.02
          ? { id: 'big', envelope: { topic: 't', timestamp: 1, msg: 'é'.repeat(5_000 + Math.floor(next() * 30_000)) } }
          : r < 0.04
            ? { id: 'typed', bytes: new Uint8Array([1, 2, 3]) }
            : r < 0.1
              ? 'x'.repeat(Math.floor(next() * 3_000))
              : records[Math.floor(next() * records.length)];
      if (r > 0.98) encode(records[i % records.length]);
      const out = encodeChecked(value);
      held.push({ value, out, copy: Buffer.from(out) });
    }
    // Every view still holds what it was given, and those sharing a slab do not overlap.
    const bySlab = new Map<ArrayBufferLike, [number, number][]>();
    for (const { value, out, copy } of held) {
      expect(out.equals(copy)).toBe(true);
      framed(value, out);
      const ranges = bySlab.get(out.buffer) ?? [];
      ranges.push([out.byteOffset, out.byteOffset + out.byteLength]);
      bySlab.set(out.buffer, ranges);
    }
    let shared = 0;
    for (const ranges of bySlab.values()) {
      ranges.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ranges.length; i++)
        expect((ranges[i] as number[])[0]).toBeGreaterThanOrEqual((ranges[i - 1] as number[])[1] as number);
      if (ranges.length > 1) shared++;
    }
    // Slabs were shared by several values, and rolled over many times.
    expect(shared).toBeGreaterThan(10);
  });
});

/** `out` is encodeChecked's frame of `value`: the first 8 bytes of the SHA-1 of msgpackr's body, then the body. */
function framed(value: unknown, out: Buffer): void {
  const body = encode(value);
  const want = Buffer.concat([createHash('sha1').update(body).digest().subarray(0, 8), body]);
  if (!out.equals(want)) expect(out.toString('hex')).toBe(want.toString('hex'));
}
