import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChecksumError, decodeChecked, encode, encodeChecked } from '../../snapshots/codec.js';

const values: unknown[] = Array.from({ length: 2_000 }, (_, i) => ({
  timestamp: 1_700_000_000 + i,
  user: `user-${i}`,
  n: i,
}));

describe('checked values', () => {
  it('are the first 8 bytes of the SHA-1 of the msgpack body, then the body (the on-disk format)', () => {
    const seen = new Set<number>();
    for (const value of values) {
      const body = encode(value);
      const out = encodeChecked(value);
      expect(out.subarray(0, 8)).toEqual(createHash('sha1').update(body).digest().subarray(0, 8));
      expect(out.subarray(8)).toEqual(body);
      for (const b of out.subarray(0, 8)) seen.add(b);
    }
    // Every byte value occurs in some checksum, the high half (not ASCII) included.
    expect(seen.size).toBe(256);
  });

  it('decode back to the value, and a changed byte in the checksum or the body is an error', () => {
    for (const value of values.slice(0, 200)) {
      const out = encodeChecked(value);
      expect(decodeChecked(out)).toEqual(value);
      for (const at of [0, 7, 8, out.byteLength - 1]) {
        const bad = Buffer.from(out);
        bad[at] = (bad[at] as number) ^ 0x80;
        expect(() => decodeChecked(bad)).toThrow(ChecksumError);
      }
    }
    expect(() => decodeChecked(new Uint8Array(8))).toThrow(ChecksumError);
  });

  it('decode a value at the start of a larger buffer up to `end`, and keep no view into that buffer', () => {
    const value = { id: 'x', bytes: Buffer.from([1, 2, 3, 4]), envelope: { topic: 'a.b.c.d', timestamp: 1 } };
    const out = encodeChecked(value);
    const shared = Buffer.alloc(out.byteLength + 100, 0xc1);
    out.copy(shared);
    const decoded = decodeChecked(shared, out.byteLength) as typeof value;
    expect(decoded).toEqual(value);
    // The buffer is reused for the next value: what was decoded must not change with it.
    shared.fill(0xff);
    expect([...decoded.bytes]).toEqual([1, 2, 3, 4]);
    // The bytes after `end` are not part of the value, and a value cut short is an error.
    out.copy(shared);
    expect(() => decodeChecked(shared, out.byteLength + 1)).toThrow(ChecksumError);
    expect(() => decodeChecked(shared, out.byteLength - 1)).toThrow(ChecksumError);
    expect(() => decodeChecked(shared, 8)).toThrow(ChecksumError);
  });
});
