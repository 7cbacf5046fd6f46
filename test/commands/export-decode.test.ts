import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeExport, EXPORT_HEADER_BYTES, EXPORT_MAGIC, ExportFileError } from '../../src/commands/export-format.js';

/** An export file around `payload` with a good header and checksum: what a hostile or broken writer can make. */
function exportOf(payload: Buffer): Buffer {
  const head = Buffer.alloc(EXPORT_HEADER_BYTES);
  EXPORT_MAGIC.copy(head, 0);
  head.writeUInt32BE(1, 8);
  head.writeBigUInt64BE(BigInt(payload.byteLength), 12);
  createHash('sha256').update(payload).digest().copy(head, 20);
  return Buffer.concat([head, payload]);
}

const refusal = (file: Buffer): unknown => {
  try {
    decodeExport(file);
  } catch (err) {
    return err;
  }
  return null;
};

describe('an export whose checksum is good but whose payload cannot be decoded', () => {
  it('is refused with a coded ExportFileError naming why, never an uncaught RangeError', () => {
    const cases: [string, Buffer, RegExp][] = [
      // 200,000 nested one-item arrays in 200 KB: deeper than msgpackr's recursive decoder reaches.
      [
        'nested past the stack',
        Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]),
        /payload does not decode: Maximum call stack size exceeded/,
      ],
      // Counts and lengths announced past the bytes that follow: read as far as there are bytes.
      ['a map of 2^32-1 entries in 5 bytes', Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), /payload does not decode/],
      ['an array of 2^32-1 items in 5 bytes', Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), /payload does not decode/],
      ['a string of 4 GiB in 5 bytes', Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff]), /payload does not decode/],
      ['a bin of 4 GiB in 5 bytes', Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff]), /payload does not decode/],
      ['nothing at all', Buffer.alloc(0), /payload does not decode/],
      ['a number, not a payload', Buffer.from([0x2a]), /payload is malformed: not an object/],
    ];
    for (const [name, payload, message] of cases) {
      const err = refusal(exportOf(payload));
      expect(err, name).toBeInstanceOf(ExportFileError);
      expect((err as Error).message, name).toMatch(message);
    }
  });
});
