import { hash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../src/msgpack-strings.js';
import { CHECKED_BODY_START, decode, decodeVerified, encode, encodeChecked } from '../../snapshots/codec.js';
import { readEntry } from '../../snapshots/journal-read.js';
import { readPlain } from '../../snapshots/msgpack-read.js';
import { recordWithinShape } from '../../snapshots/msgpack-shape.js';
import { samples } from '../helpers/fixtures.js';
import { lcgC } from '../helpers/seeded-random.js';

/** readPlain and msgpackr agree on these bytes: the same value (key order too), or readPlain leaves them to msgpackr. */
function agrees(bytes: Uint8Array, start = 0, end = bytes.byteLength): 'same' | 'left' {
  const mine = readPlain(bytes, start, end);
  let theirs: unknown;
  let refused = false;
  try {
    theirs = decode(bytes.subarray(start, end));
  } catch {
    refused = true;
  }
  if (mine === undefined) return 'left';
  expect(refused, 'decoded bytes msgpackr refuses').toBe(false);
  expect(isDeepStrictEqual(mine, theirs)).toBe(true);
  expect(JSON.stringify(mine)).toBe(JSON.stringify(theirs));
  return 'same';
}

/** A checked record as msgpackr decodes it, or null when it refuses its bytes. */
function msgpackrRecord(stored: Uint8Array): { id?: unknown; envelope?: unknown } | null {
  try {
    return decodeVerified(stored) as { id?: unknown; envelope?: unknown };
  } catch {
    return null;
  }
}

/** A deterministic generator, so a failure names its case. */
const random = lcgC;

describe('msgpack read for replay', () => {
  it('decodes every fixture envelope as msgpackr does, inside a larger buffer', () => {
    for (const envelope of samples()) {
      const body = encode({ id: 'some-id#0123456789abcdef', envelope });
      const padded = Buffer.concat([Buffer.from([0xc1, 7, 7]), body, Buffer.from([0xc1, 0xc1])]);
      expect(agrees(padded, 3, 3 + body.byteLength)).toBe('same');
    }
  });

  it('reads numbers at every width and sign, floats, -0, NaN and infinities exactly', () => {
    const values = [
      0,
      1,
      63,
      64,
      127,
      128,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      -1,
      -32,
      -33,
      -128,
      -129,
      -32768,
      -32769,
      -(2 ** 31),
      1.5,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0.1,
      3.4e38,
      1e-300,
      2 ** 53,
      -(2 ** 40),
      null,
      true,
      false,
    ];
    for (const v of values) expect(agrees(encode({ v, list: [v, v] }))).toBe('same');
  });

  it('reads strings of every header and length, non-ASCII and lone surrogates as msgpackr does', () => {
    const pieces = ['a', 'Z', '0', 'é', '€', '😀', '\ud800', '\udc00', '\u0000', '\u007f', '\u0080', ' '];
    const next = random(7);
    for (const n of [0, 1, 3, 15, 16, 31, 32, 33, 64, 65, 255, 256, 300, 70_000]) {
      for (let round = 0; round < 8; round++) {
        let s = '';
        for (let i = 0; i < n; i++) s += pieces[Math.floor(next() * pieces.length)];
        expect(agrees(encode({ [s.slice(0, 40)]: s, s }))).toBe('same');
      }
    }
  });

  it('makes ASCII strings of every short length, control characters included, as msgpackr does', () => {
    const next = random(13);
    for (let n = 0; n <= 14; n++)
      for (let round = 0; round < 64; round++) {
        let s = '';
        for (let i = 0; i < n; i++)
          s += String.fromCharCode(round === 0 ? 0 : round === 1 ? 0x7f : Math.floor(next() * 0x80));
        expect(agrees(encode({ [s]: s, list: [s, `${s}é`] }))).toBe('same');
      }
  });

  it('keeps apart keys that differ only where the key cache does not hash', () => {
    // Same length, first, second, middle and last two bytes: one slot, taken in turns.
    const keys = ['abXcdYZef', 'abQcdRSef', 'abXcdRZef', 'ab0cd12ef'];
    const record: Record<string, number> = {};
    keys.forEach((k, i) => {
      record[k] = i;
    });
    for (let round = 0; round < 3; round++) expect(agrees(encode(record))).toBe('same');
    for (const k of keys) expect(readPlain(encode({ [k]: 1 }), 0, Infinity)).toEqual({ [k]: 1 });
  });

  it('keeps apart keys of every length read as words that differ in any one word, whatever follows them', () => {
    // Lengths around the word cache's (1–16 bytes, up to four words) and past it. Each set of
    // keys shares every byte but those of one word, and holds more keys than the cache has
    // slots: keys that share a slot then differ only there, so only a compare of that word tells
    // them apart.
    const next = random(5);
    const letter = () => 0x41 + Math.floor(next() * 58);
    for (let length = 1; length <= 20; length++) {
      const base = Array.from({ length }, (_, i) => 0x61 + (i % 7));
      for (let word = 0; 4 * word < length; word++) {
        const keys = new Set<string>();
        for (let i = 0; i < 6_000; i++) {
          const bytes = [...base];
          for (let j = 4 * word; j < Math.min(4 * word + 4, length); j++) bytes[j] = letter();
          keys.add(String.fromCharCode(...bytes));
        }
        const record: Record<string, number> = {};
        [...keys].forEach((k, i) => {
          record[k] = i;
        });
        for (let round = 0; round < 2; round++) expect(agrees(encode(record))).toBe('same');
      }
      // Keys that end in NUL bytes read as the same words as the key without them: the length tells them apart.
      if (length <= 15) {
        const record: Record<string, number> = {};
        for (let i = 0; i < 6_000; i++) {
          const k = String.fromCharCode(...Array.from({ length }, letter));
          record[k] = i;
          record[`${k}\u0000`] = -i;
        }
        for (let round = 0; round < 2; round++) expect(agrees(encode(record))).toBe('same');
      }
      const k = String.fromCharCode(...base);
      // A key and a one-byte value that end the record: its last word would run past the end.
      const alone = encode({ [k]: 1 });
      expect(agrees(alone)).toBe('same');
      // The same bytes inside a larger buffer, other bytes after them: read to `end` only.
      const inside = Buffer.concat([Buffer.from([1, 2, 3]), alone, Buffer.from('ZZZZZZZZ')]);
      expect(readPlain(inside, 3, 3 + alone.byteLength)).toEqual({ [k]: 1 });
    }
    // ~530 k keys encoded and read twice each, all CPU: 5–9 s alone, 19–44 s beside a loaded
    // machine's other test files, past the default 30 s.
  }, 120_000);

  it('replaces malformed UTF-8 in a string as msgpackr does, at every length either decoder of its has', () => {
    const next = random(11);
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(next() * 80);
      const text = Buffer.alloc(n);
      for (let j = 0; j < n; j++) text[j] = next() < 0.5 ? Math.floor(next() * 256) : 0x61;
      const head = n < 32 ? Buffer.from([0xa0 | n]) : Buffer.from([0xd9, n]);
      expect(agrees(Buffer.concat([head, text]))).toBe('same');
    }
  });

  it("keeps keys apart whatever slot their bytes hash to, and renames '__proto__' as msgpackr does", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i.toString(36)}`);
    const record: Record<string, number> = {};
    keys.forEach((k, i) => {
      record[k] = i;
    });
    // Twice: the second read answers from the cache the first filled.
    expect(agrees(encode(record))).toBe('same');
    expect(agrees(encode(record))).toBe('same');
    const proto = Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]);
    expect(agrees(proto)).toBe('same');
    expect(Object.getPrototypeOf(readPlain(proto, 0, proto.byteLength))).toBe(Object.prototype);
    // Keys as str8, past the cache's length, and empty.
    expect(agrees(encode({ ['x'.repeat(40)]: 1, '': 2, ['é'.repeat(20)]: 3 }))).toBe('same');
  });

  it('makes maps plain objects, as msgpackr and JSON.parse do: their prototype, constructor and own members only', () => {
    // Maps of every size around V8's in-object room (4 for `{}`, 10 for a constructor's), nested,
    // with index-like keys (which enumerate first wherever they are written) and duplicates.
    for (let n = 0; n <= 24; n++) {
      const inner: Record<string, unknown> = {};
      for (let i = n; i > 0; i--) inner[i % 3 === 0 ? String(i) : `m${i}`] = i % 2 === 0 ? { i } : [i, `v${i}`];
      const value = { z: 1, inner, '7': 'seven', a: [inner, {}] };
      const decoded = readPlain(encode(value), 0, Infinity) as Record<string, unknown>;
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(value));
      for (const o of [decoded, decoded['inner'], (decoded['a'] as unknown[])[1]] as object[]) {
        expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
        expect(o.constructor).toBe(Object);
        expect(Object.getOwnPropertySymbols(o)).toEqual([]);
        expect(Reflect.ownKeys(o)).toEqual(Object.keys(o));
        expect(Object.isExtensible(o)).toBe(true);
      }
      expect(isDeepStrictEqual(decoded, JSON.parse(JSON.stringify(value)))).toBe(true);
    }
    // A key written twice keeps its first place and its last value, as an assignment does.
    const twice = Buffer.from([0x83, 0xa1, 0x62, 0x01, 0xa1, 0x61, 0x02, 0xa1, 0x62, 0x03]);
    expect(agrees(twice)).toBe('same');
    expect(Object.entries(readPlain(twice, 0, twice.byteLength) as object)).toEqual([
      ['b', 3],
      ['a', 2],
    ]);
  });

  it('leaves to msgpackr what it does not read exactly: bin, ext, 64-bit integers, other keys, damage', () => {
    const left = [
      encode({ b: new Uint8Array([1, 2, 3]) }),
      encode({ big: 2n ** 63n - 1n }),
      encode({ u: undefined }),
      Buffer.from([0x81, 0x01, 0x02]), // a number as a key
      Buffer.from([0x81, 0xa1, 0x61, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1]), // uint64
      Buffer.from([0xc0, 0xc0]), // bytes left over
      Buffer.from([0x92, 0x01]), // an array cut short
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // a length past the end
      Buffer.from([0xd9, 0x05, 0x61]), // a string cut short
      Buffer.from([0xcb, 0, 0]), // a double cut short
      Buffer.from([0xc1]),
    ];
    for (const bytes of left) expect(agrees(bytes)).toBe('left');
  });

  it('agrees with msgpackr on fixture records with bytes flipped or cut, where it decodes them at all', () => {
    const next = random(3);
    const all = samples();
    let decoded = 0;
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.from(encode({ id: `m${i}`, envelope: all[i % all.length] }));
      for (let j = 0; j < 3; j++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const end = next() < 0.3 ? Math.floor(next() * bytes.length) : bytes.length;
      if (agrees(bytes, 0, end) === 'same') decoded++;
    }
    expect(decoded).toBeGreaterThan(100);
  });

  it('gives a journal entry what msgpackr decodes when it leaves a record to it', () => {
    const envelope = { topic: 'a.b.c.d', timestamp: 1, msg: { raw: new Uint8Array([9, 8]), n: 2n ** 60n } };
    const stored = encodeChecked({ id: 'x', envelope });
    expect(readPlain(stored, CHECKED_BODY_START, stored.byteLength)).toBeUndefined();
    const entry = readEntry(1, stored, stored.byteLength, undefined);
    const theirs = (decodeVerified(stored) as { envelope: unknown }).envelope;
    expect(entry?.envelope).toEqual(theirs);
    expect((theirs as typeof envelope).msg.n).toBe(2n ** 60n);
    // A damaged record is still no entry.
    const bad = Buffer.from(stored);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    expect(readEntry(1, bad, bad.byteLength, undefined)).toBeNull();
  });

  it('gives the entry msgpackr decodes for records in any layout: the usual one, members swapped or added, heads damaged', () => {
    const next = random(7);
    const all = samples();
    const records: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const envelope = all[i % all.length];
      records.push({ id: `m-${i}#0123456789abcdef`, envelope });
      if (i % 10 === 0)
        records.push({ envelope, id: `m${i}` }, { id: `m${i}`, envelope, more: 1 }, { id: i, envelope });
      if (i % 10 === 1) records.push({ id: 'x', envelop: envelope }, { id: 'x'.repeat(40), envelope }, { id: '' });
    }
    let entries = 0;
    let damaged = 0;
    for (const record of records) {
      const stored = Buffer.from(encodeChecked(record));
      // Damage near the head after the checksum, with the checksum made to hold: the reader must still agree.
      if (next() < 0.3) {
        stored[CHECKED_BODY_START + Math.floor(next() * 14)] = Math.floor(next() * 256);
        stored.write(hash('sha1', stored.subarray(CHECKED_BODY_START), 'binary'), 0, CHECKED_BODY_START, 'latin1');
        damaged++;
      }
      const theirs = msgpackrRecord(stored);
      const entry = readEntry(1, stored, stored.byteLength, { maxDepth: 64, maxKeys: 10_000 });
      if (entry === null || theirs === null) continue;
      entries++;
      // Ids of records left to msgpackr are copied (flat()), which makes a missing one a string: not this test's.
      if (readPlain(stored, CHECKED_BODY_START, stored.byteLength) !== undefined) expect(entry.id).toEqual(theirs.id);
      expect(isDeepStrictEqual(entry.envelope, theirs.envelope)).toBe(true);
      expect(JSON.stringify(entry.envelope)).toBe(JSON.stringify(theirs.envelope));
    }
    expect(entries).toBeGreaterThan(300);
    expect(damaged).toBeGreaterThan(50);
  });

  it('proves a record within shape bounds exactly when the walk of its bytes does, in the same pass', () => {
    const next = random(5);
    const nest = (depth: number, width: number): unknown =>
      depth === 0
        ? 'leaf'
        : next() < 0.5
          ? Array.from({ length: width }, () => nest(depth - 1, width))
          : { a: nest(depth - 1, width), b: [] };
    const envelopes: unknown[] = [...samples().slice(0, 100)];
    for (let i = 0; i < 200; i++)
      envelopes.push({ topic: 'a.b.c.d', timestamp: i, msg: nest(Math.floor(next() * 8), 1 + Math.floor(next() * 4)) });
    let within = 0;
    let outside = 0;
    for (const envelope of envelopes) {
      const stored = encodeChecked({ id: 'x', envelope });
      for (const maxDepth of [1, 2, 3, 5, 8, 64])
        for (const maxKeys of [3, 10, 50, 200, 10_000]) {
          const shape = { maxDepth, maxKeys };
          const walked = recordWithinShape(stored, CHECKED_BODY_START, stored.byteLength, maxDepth, maxKeys);
          const entry = readEntry(1, stored, stored.byteLength, shape);
          expect(entry?.withinShape === shape).toBe(walked);
          if (walked) within++;
          else outside++;
        }
    }
    expect(within).toBeGreaterThan(1_000);
    expect(outside).toBeGreaterThan(1_000);
  });
});
