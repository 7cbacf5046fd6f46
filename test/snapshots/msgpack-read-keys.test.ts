import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../src/msgpack-strings.js';
import { decode, encode } from '../../snapshots/codec.js';
import { readPlain } from '../../snapshots/msgpack-read.js';
import { lcgC } from '../helpers/seeded-random.js';

/**
 * Map keys of every length the decoder's key caches take (msgpack-read.ts's wordKey, 1–16 bytes;
 * msgpack-keys.ts, 17–64) and just past them: a cache hit must only ever answer for the very same
 * bytes. Each record is read twice, the second time from what the first kept.
 */

/** readPlain reads `record` as msgpackr does and as it was written: the same keys, in order, with their values. */
function readsBack(record: Record<string, unknown>): void {
  const bytes = encode(record);
  for (let round = 0; round < 2; round++) {
    const mine = readPlain(bytes, 0, bytes.byteLength) as Record<string, unknown> | undefined;
    expect(mine).toBeDefined();
    expect(Object.keys(mine as object)).toEqual(Object.keys(record));
    expect(isDeepStrictEqual(mine, record)).toBe(true);
    expect(isDeepStrictEqual(mine, decode(bytes))).toBe(true);
  }
}

/** `keys` as one record, each key's value its index. */
function recordOf(keys: Iterable<string>): Record<string, number> {
  const record: Record<string, number> = {};
  let i = 0;
  for (const k of keys) record[k] = i++;
  return record;
}

const LENGTHS = [16, 17, 18, 19, 20, 21, 24, 31, 32, 33, 40, 47, 48, 63, 64, 65];
const next = lcgC(17);
const letter = () => 0x41 + Math.floor(next() * 58);
const base = (length: number) => Array.from({ length }, (_, i) => 0x61 + (i % 7));

describe('msgpack read: long map keys', () => {
  it('keeps apart keys of one length that share a prefix and differ only in their tail', () => {
    for (const length of LENGTHS) {
      const head = String.fromCharCode(...base(length - 1));
      // Every last byte, then the last two: the masked last word is the only difference.
      const keys = new Set<string>();
      for (let c = 0x20; c < 0x7f; c++) keys.add(head + String.fromCharCode(c));
      for (let i = 0; i < 300; i++) keys.add(head.slice(0, -1) + String.fromCharCode(letter(), letter()));
      readsBack(recordOf(keys));
      // One key at a time too, each after a different one of its length was kept.
      for (const k of [...keys].slice(0, 20)) readsBack({ [k]: k.length });
    }
  });

  it('keeps apart keys of one length that differ in any one word, more of them than the caches have slots', () => {
    for (const length of LENGTHS) {
      for (let word = 0; 4 * word < length; word++) {
        const keys = new Set<string>();
        for (let i = 0; i < 2_500; i++) {
          const bytes = base(length);
          for (let j = 4 * word; j < Math.min(4 * word + 4, length); j++) bytes[j] = letter();
          keys.add(String.fromCharCode(...bytes));
        }
        readsBack(recordOf(keys));
      }
    }
  }, 120_000);

  it('keeps apart keys that share every word the slot is picked by: only the compare of the others tells them apart', () => {
    // msgpack-keys.ts picks a slot by length, first word, last word and the word at (length >> 3) * 4.
    for (const length of [17, 20, 24, 31, 32, 33, 40, 48, 63, 64]) {
      const n = (length + 3) >> 2;
      const hashed = new Set([0, n - 1, length >> 3]);
      for (let word = 1; word < n - 1; word++) {
        if (hashed.has(word)) continue;
        const keys: string[] = [];
        for (let c = 0; c < 40; c++) {
          const bytes = base(length);
          bytes[4 * word + (c % 4)] = 0x30 + c;
          keys.push(String.fromCharCode(...bytes));
        }
        readsBack(recordOf(keys));
        // Interleaved, each record a single key: every read takes the slot from the one before.
        for (let round = 0; round < 3; round++) for (const k of keys) readsBack({ [k]: k });
      }
    }
  });

  it('tells apart keys that end in NUL bytes from the same key without them', () => {
    for (const length of [13, 16, 17, 29, 31, 32, 33, 61, 63]) {
      const keys: string[] = [];
      for (let i = 0; i < 3_000; i++) {
        const k = String.fromCharCode(...Array.from({ length }, letter));
        keys.push(k, `${k}\u0000`, `${k}\u0000\u0000`);
      }
      readsBack(recordOf(keys));
    }
  });

  it('reads non-ASCII keys of every length around the caches, and malformed UTF-8 keys as msgpackr does', () => {
    const pieces = ['é', '€', '😀', 'a', 'Z', '\u0000', '\u0080'];
    for (let target = 14; target <= 70; target++) {
      const keys = new Set<string>();
      for (let round = 0; round < 50; round++) {
        let k = '';
        while (Buffer.byteLength(k) < target) k += pieces[Math.floor(next() * pieces.length)];
        keys.add(k);
      }
      readsBack(recordOf(keys));
    }
    // Malformed bytes in keys of 17–64 bytes: decoded with replacement characters, as msgpackr does.
    for (let i = 0; i < 3_000; i++) {
      const length = 17 + Math.floor(next() * 48);
      const text = Buffer.alloc(length);
      for (let j = 0; j < length; j++) text[j] = next() < 0.3 ? 0x80 + Math.floor(next() * 128) : 0x61;
      const head = length < 32 ? [0xa0 | length] : [0xd9, length];
      const bytes = Buffer.concat([Buffer.from([0x81, ...head]), text, Buffer.from([0x01])]);
      for (let round = 0; round < 2; round++) expect(readPlain(bytes, 0, bytes.byteLength)).toEqual(decode(bytes));
    }
  });

  it('reads a long key at the very end of its bytes, other bytes after it in the buffer or none', () => {
    for (const length of LENGTHS) {
      for (let round = 0; round < 2; round++) {
        const k = String.fromCharCode(...base(length).map((b) => b + round));
        const alone = encode({ [k]: 1 });
        expect(readPlain(alone, 0, alone.byteLength)).toEqual({ [k]: 1 });
        for (const after of ['', 'Z', 'ZZZ', 'ZZZZZZZZ']) {
          const inside = Buffer.concat([Buffer.from([1, 2, 3]), alone, Buffer.from(after)]);
          expect(readPlain(inside, 3, 3 + alone.byteLength)).toEqual({ [k]: 1 });
          // The same key's bytes with different bytes past them: the same key.
          expect(readPlain(inside, 3, 3 + alone.byteLength)).toEqual(readPlain(alone, 0, alone.byteLength));
        }
      }
    }
  });
});
