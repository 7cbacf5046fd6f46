/**
 * The one module that talks to msgpackr. Plain msgpack (no records extension) so stored
 * data can be read by any msgpack library; variable map sizes so large objects cannot throw.
 * Stored values are framed with an 8-byte SHA-1 prefix, so a flipped bit or a torn value is
 * detected instead of decoding into something plausible but wrong.
 */
import { hash } from 'node:crypto';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { NO_ROOM, writePlain } from './msgpack-write.js';

/**
 * useToJSON off: stored values are plain data, and msgpackr takes an object whose own
 * `constructor` member is not Object for a class instance and calls its `toJSON`, which a bus
 * message may carry as a string (`{"constructor": "Main", "toJSON": "yes"}`): the encode threw.
 */
const OPTIONS = { useRecords: false, variableMapSize: true, useToJSON: false } as const;
const packr = new Packr(OPTIONS);
/**
 * Reads values in buffers that are reused after the call (LMDB's shared read buffer): msgpack
 * `bin` values are copied out rather than left as views into it. Reused buffers also keep the
 * DataView msgpackr caches on them, where a new view per value would make one each time.
 */
const unpacker = new Packr({ ...OPTIONS, copyBuffers: true });
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
 * The SHA-1 digest whose first CHECK_BYTES bytes are the checksum, as a 'binary' (latin1) string,
 * one char per byte: a digest returned as a Buffer gets an ArrayBuffer of its own, and a snapshot
 * of 1 M entries made 1 M of them for the GC to sweep (half the encode time, and young-generation
 * pauses inside snapshot chunks). Whole: every caller reads the first CHECK_BYTES chars only, and
 * slicing them out made a second string per record replayed or written.
 */
function checksumOf(body: Uint8Array): string {
  return hash('sha1', body, 'binary') as string;
}

/**
 * msgpackr leaves the checksum's bytes free in front of the body it writes: the value is framed
 * where it was packed, not copied into a second buffer (one allocation and copy per journal
 * record on the bus thread).
 */
const CHECK_SPACE = RESERVE_START_SPACE | CHECK_BYTES;

/**
 * Where encodeChecked writes the values writePlain takes: handed out as views, one after the other
 * (from multiples of 8, as msgpackr packs), and never written over. Callers keep what they are
 * given past later encodes (a journal batch until its LMDB commit, the AMQP input thread's parts
 * until its turn's batch is posted), so a full slab is left to them and a fresh one taken, as
 * msgpackr does with its own buffer; and of its size (8 KiB), so a value held for long keeps no
 * more memory alive than msgpackr's did.
 */
const SLAB = 8 * 1024;
/** A value is not started with less room than this left: msgpackr's rule (pack.js), ~2 records. */
const SLAB_ROOM = 0x800;
let slab = Buffer.allocUnsafeSlow(SLAB);
/** slab.buffer, read once: allocUnsafeSlow's Buffer is all of its own ArrayBuffer. */
let slabBytes = slab.buffer;
let slabAt = 0;

/** A msgpack value behind a checksum of its bytes. */
export function encodeChecked(value: unknown): Buffer {
  let start = slabAt;
  if (SLAB - start < SLAB_ROOM) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabBytes = slab.buffer;
    start = 0;
  }
  // msgpackr's bytes for a JSON-shaped value, without msgpackr (msgpack-write.ts).
  let end = writePlain(value, slab, start + CHECK_BYTES);
  if (end === NO_ROOM && start !== 0) {
    // What did not fit in the rest of this slab may fit in a whole one.
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabBytes = slab.buffer;
    start = 0;
    end = writePlain(value, slab, CHECK_BYTES);
  }
  if (end < 0) {
    slabAt = start;
    // Another type, or larger than a slab: msgpackr packs it in a buffer of its own.
    const out = packr.pack(value, CHECK_SPACE);
    out.write(checksumOf(view(out, CHECK_BYTES, out.byteLength)), 0, CHECK_BYTES, 'latin1');
    return out;
  }
  slabAt = (end + 7) & ~7;
  const check = checksumOf(new Uint8Array(slabBytes, start + CHECK_BYTES, end - start - CHECK_BYTES));
  // Byte by byte: Buffer's write() looks its encoding up and checks its arguments first.
  for (let i = 0; i < CHECK_BYTES; i++) slab[start + i] = check.charCodeAt(i);
  return Buffer.from(slabBytes, start, end - start);
}

/** Handed to msgpackr after packing in place: no later pack writes into a caller's buffer (encodeCheckedAt). */
const NO_TARGET = Buffer.alloc(0);

/**
 * encodeChecked's bytes, packed where they are to be sent: into `target` at `at` (a multiple of
 * 8: msgpackr starts a value on one), not into msgpackr's own buffer to be copied from there. The
 * returned view is where they ended up: elsewhere when `target` had under 2 KiB of room after
 * `at` or the value outgrew it (msgpackr then packs into a buffer of its own), or when `at` was
 * not a multiple of 8. The bytes are encodeChecked's either way (the same packer and options).
 */
export function encodeCheckedAt(value: unknown, target: Buffer, at: number): Buffer {
  // msgpackr's rule for where a value goes: in `target` only with 2 KiB of room after `at`
  // (its safe end is 10 bytes short of the buffer's), from the next multiple of 8.
  if (target.length - 10 - at >= 0x800) {
    const start = (at + 7) & ~7;
    // msgpackr's bytes for a JSON-shaped value, without msgpackr (msgpack-write.ts).
    const end = writePlain(value, target, start + CHECK_BYTES);
    if (end >= 0) {
      const out = target.subarray(start, end);
      out.write(checksumOf(view(out, CHECK_BYTES, out.byteLength)), 0, CHECK_BYTES, 'latin1');
      return out;
    }
  }
  packr.useBuffer(target);
  packr.position = at;
  try {
    const out = packr.pack(value, CHECK_SPACE);
    out.write(checksumOf(view(out, CHECK_BYTES, out.byteLength)), 0, CHECK_BYTES, 'latin1');
    return out;
  } finally {
    // msgpackr's target is shared by every pack in this thread: the next encode() must not
    // write into `target` (an empty one makes it allocate its own again).
    packr.useBuffer(NO_TARGET);
  }
}

/** Decodes a value framed by encodeChecked without verifying it: only for bytes that never left this process. */
export function decodeUnchecked(bytes: Uint8Array): unknown {
  return packr.unpack(bytes.subarray(CHECK_BYTES));
}

export class ChecksumError extends Error {}

/**
 * bytes[start, end) as a plain Uint8Array made directly: subarray() of a Buffer goes through
 * the species constructor (Buffer's, in JavaScript), which per snapshot entry read cost more
 * than the view itself.
 */
export function view(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/**
 * What is wrong with a value framed by encodeChecked (too short, or its checksum does not
 * match its bytes), or null when it is intact. `end` bounds the value inside `bytes`, as in
 * decodeChecked.
 */
export function checksumProblem(bytes: Uint8Array, end = bytes.byteLength): string | null {
  if (end <= CHECK_BYTES) return `value of ${end} bytes is too short to hold a checksum`;
  const check = checksumOf(view(bytes, CHECK_BYTES, end));
  // Compared byte by byte: no string is made of the stored checksum.
  for (let i = 0; i < CHECK_BYTES; i++)
    if (bytes[i] !== check.charCodeAt(i)) return 'checksum mismatch (corrupted or torn value)';
  return null;
}

/**
 * Verifies the checksum, then decodes; throws ChecksumError or a decode error. `end` bounds the
 * value inside `bytes` (LMDB's shared read buffer holds the current value at its start): it is
 * read in place, no copy and no view made, and nothing decoded refers to it afterwards.
 */
export function decodeChecked(bytes: Uint8Array, end = bytes.byteLength): unknown {
  const problem = checksumProblem(bytes, end);
  if (problem !== null) throw new ChecksumError(problem);
  return decodeVerified(bytes, end);
}

/** decodeChecked for a value whose checksum the caller has verified already (checksumProblem). */
export function decodeVerified(bytes: Uint8Array, end = bytes.byteLength): unknown {
  return unpacker.unpack(bytes, { start: CHECKED_BODY_START, end });
}

/**
 * Decodes msgpack values laid end to end (a SequenceWriter's output), in order. Byte strings
 * are copied out: nothing decoded keeps `bytes` alive.
 */
export function decodeSequence(bytes: Uint8Array, each: (value: unknown) => void): void {
  unpacker.unpackMultiple(bytes, (value: unknown) => {
    each(value);
  });
}
