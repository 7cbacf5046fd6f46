/**
 * The one module that talks to msgpackr. Plain msgpack (no records extension) so stored
 * data can be read by any msgpack library; variable map sizes so large objects cannot throw.
 * Stored values are framed with an 8-byte SHA-1 prefix, so a flipped bit or a torn value is
 * detected instead of decoding into something plausible but wrong.
 */
import { hash } from 'node:crypto';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });
/**
 * Reads values in buffers that are reused after the call (LMDB's shared read buffer): msgpack
 * `bin` values are copied out rather than left as views into it. Reused buffers also keep the
 * DataView msgpackr caches on them, where a new view per value would make one each time.
 */
const unpacker = new Packr({ useRecords: false, variableMapSize: true, copyBuffers: true });
const CHECK_BYTES = 8;
/** Where the msgpack body of a value framed by encodeChecked begins. */
export const CHECKED_BODY_START = CHECK_BYTES;

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on bytes that are not one complete msgpack value. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * The checksum as a 'binary' (latin1) string, one char per byte: a digest returned as a Buffer gets an
 * ArrayBuffer of its own, and a snapshot of 1 M entries made 1 M of them for the GC to sweep
 * (half the encode time, and young-generation pauses inside snapshot chunks).
 */
function checksumOf(body: Uint8Array): string {
  return (hash('sha1', body, 'binary') as string).slice(0, CHECK_BYTES);
}

/** A msgpack value behind a checksum of its bytes. */
export function encodeChecked(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(CHECK_BYTES + body.byteLength);
  out.write(checksumOf(body), 0, CHECK_BYTES, 'latin1');
  body.copy(out, CHECK_BYTES);
  return out;
}

/** Decodes a value framed by encodeChecked without verifying it: only for bytes that never left this process. */
export function decodeUnchecked(bytes: Uint8Array): unknown {
  return packr.unpack(bytes.subarray(CHECK_BYTES));
}

export class ChecksumError extends Error {}

/**
 * Verifies the checksum, then decodes; throws ChecksumError or a decode error. `end` bounds the
 * value inside `bytes` (LMDB's shared read buffer holds the current value at its start): it is
 * read in place, no copy and no view made, and nothing decoded refers to it afterwards.
 */
export function decodeChecked(bytes: Uint8Array, end = bytes.byteLength): unknown {
  if (end <= CHECK_BYTES) throw new ChecksumError(`value of ${end} bytes is too short to hold a checksum`);
  const check = checksumOf(bytes.subarray(CHECK_BYTES, end));
  // Compared byte by byte: no string is made of the stored checksum.
  for (let i = 0; i < CHECK_BYTES; i++)
    if (bytes[i] !== check.charCodeAt(i)) throw new ChecksumError('checksum mismatch (corrupted or torn value)');
  return unpacker.unpack(bytes, { start: CHECK_BYTES, end });
}
