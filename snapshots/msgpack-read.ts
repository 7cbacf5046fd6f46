/**
 * A journal record's msgpack body decoded for replay without msgpackr, for the JSON-shaped values
 * the journal holds (maps with string keys, arrays, strings, numbers up to 32-bit integers and
 * doubles, booleans, nil). Anything else, and anything it cannot read exactly (bin, ext, 64-bit
 * integers, non-string keys, a length past the end, bytes left over), answers undefined and the
 * caller decodes with msgpackr (codec.ts) as before, so its values and its errors stay msgpackr's.
 *
 * Why not msgpackr: with its native string extraction off (src/msgpack-strings.ts), it decodes a
 * string of 16–64 bytes by pushing each character into a fresh array and a longer one through
 * TextDecoder, and uses its key cache only for sources under 180 bytes, so every map key of a
 * record (~900 bytes) was a new string: ~6.5 KB of garbage per replayed message, 45% of what the
 * main thread allocated during replay (docs/benchmarks.md, "What is left", replay).
 */

import { longKey, MAX_LONG_KEY } from './msgpack-keys.js';
import { cachedTopic, keepTopic } from './msgpack-topic.js';

/** Map keys decoded before, by a hash of their bytes: the same string each time, no garbage. */
const KEY_SLOTS = 4096;

/** Thrown inside the decoder when the bytes are not something it reads exactly; caught below. */
const NOT_HERE = new Error('not decoded here');

/** Node's Buffer decoders without toString()'s encoding lookup and bounds fix-ups (not in @types/node). */
interface SliceBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
}

let src = Buffer.alloc(0) as SliceBuffer;
let pos = 0;
let end = 0;
let view: DataView = new DataView(new ArrayBuffer(8));
let depth = 0;

/**
 * What the last value readPlain decoded holds, as checkShape (envelope-limits.ts) and
 * msgpack-shape.ts count it: its deepest container's depth (the value itself is 1) and the
 * members of all its containers (map entries and array items). Read in the same pass, so a
 * replayed record's bytes are not walked a second time for its shape bounds.
 */
export const plainShape = { depth: 0, members: 0 };

/** The msgpack value at bytes[start..stop), as msgpackr (mapsAsObjects, no records) decodes it, or undefined. */
export function readPlain(bytes: Uint8Array, start: number, stop: number): unknown {
  begin(bytes, start, stop);
  try {
    const value = read();
    return pos === end ? value : undefined;
  } catch {
    // NOT_HERE, or a RangeError (a DataView read past the end, a stack too deep): msgpackr decides.
    return undefined;
  }
}

/** Points the decoder at bytes[start..stop), its shape counts at zero. */
function begin(bytes: Uint8Array, start: number, stop: number): void {
  src = (
    bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  ) as SliceBuffer;
  if (view.buffer !== src.buffer || view.byteOffset !== src.byteOffset || view.byteLength !== src.byteLength)
    view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  pos = start;
  end = Math.min(stop, src.byteLength);
  depth = 0;
  plainShape.depth = 0;
  plainShape.members = 0;
}

/** The two members readRecord() read last. */
export const plainRecord: { id: unknown; envelope: unknown } = { id: undefined, envelope: undefined };

/** `envelope` as a msgpack fixstr, after its header byte 0xa8. */
const ENVELOPE_KEY = [0x65, 0x6e, 0x76, 0x65, 0x6c, 0x6f, 0x70, 0x65];

/**
 * A journal record, the map `{ id, envelope }` in that order as encodeJournalRecord writes it,
 * read into plainRecord without an object of its own (replay makes its entry from the two), with
 * plainShape counted as readPlain counts it. False, leaving plainRecord as it was, for any
 * other bytes, and for those readPlain leaves to msgpackr: the caller reads them with readPlain.
 * The record's object cost two megamorphic stores and two key lookups per replayed entry.
 */
export function readRecord(bytes: Uint8Array, start: number, stop: number): boolean {
  begin(bytes, start, stop);
  // 0x82: a map of two; 0xa2 'i' 'd'.
  if (end - pos < 14 || src[pos] !== 0x82 || src[pos + 1] !== 0xa2 || src[pos + 2] !== 0x69 || src[pos + 3] !== 0x64)
    return false;
  pos += 4;
  try {
    enter(2);
    const id = read();
    if (end - pos < 10 || src[pos] !== 0xa8) return false;
    for (let i = 0; i < 8; i++) if (src[pos + 1 + i] !== ENVELOPE_KEY[i]) return false;
    pos += 9;
    const envelope = read();
    depth--;
    if (pos !== end) return false;
    plainRecord.id = id;
    plainRecord.envelope = envelope;
    return true;
  } catch {
    return false;
  }
}

function read(): unknown {
  if (pos >= end) throw NOT_HERE;
  const b = src[pos++] as number;
  if (b < 0x80) return b;
  if (b < 0x90) return map(b & 0x0f);
  if (b < 0xa0) return array(b & 0x0f);
  if (b < 0xc0) return str(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  let n: number;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xca:
      n = view.getFloat32(pos);
      pos += 4;
      return n;
    case 0xcb:
      n = view.getFloat64(pos);
      pos += 8;
      return n;
    case 0xcc:
      return u8();
    case 0xcd:
      n = view.getUint16(pos);
      pos += 2;
      return n;
    case 0xce:
      n = view.getUint32(pos);
      pos += 4;
      return n;
    case 0xd0:
      n = view.getInt8(pos);
      pos += 1;
      return n;
    case 0xd1:
      n = view.getInt16(pos);
      pos += 2;
      return n;
    case 0xd2:
      n = view.getInt32(pos);
      pos += 4;
      return n;
    case 0xd9:
      return str(u8());
    case 0xda:
      return str(u16());
    case 0xdb:
      return str(u32());
    case 0xdc:
      return array(u16());
    case 0xdd:
      return array(u32());
    case 0xde:
      return map(u16());
    case 0xdf:
      return map(u32());
    default:
      // bin, ext, 64-bit integers (BigInt in msgpackr), 0xc1: msgpackr's to decode.
      throw NOT_HERE;
  }
}

function u8(): number {
  if (pos >= end) throw NOT_HERE;
  return src[pos++] as number;
}

function u16(): number {
  const n = view.getUint16(pos);
  pos += 2;
  return n;
}

function u32(): number {
  const n = view.getUint32(pos);
  pos += 4;
  return n;
}

function array(length: number): unknown[] {
  // Every item takes a byte at least: a longer header is not a record this reads.
  if (length > end - pos) throw NOT_HERE;
  enter(length);
  const out = new Array(length);
  for (let i = 0; i < length; i++) out[i] = read();
  depth--;
  return out;
}

function map(length: number): Record<string, unknown> {
  if (2 * length > end - pos) throw NOT_HERE;
  enter(length);
  // `{}` for the small ones: 10 slots in each cost more in GC than they saved (docs/benchmarks.md).
  const out: Record<string, unknown> = length > 4 ? new Plain() : {};
  for (let i = 0; i < length; i++) {
    const b = pos < end ? (src[pos] as number) : 0;
    let k: string;
    if (b >= 0xa0 && b < 0xc0) {
      pos++;
      k = key(b & 0x1f);
    } else if (b === 0xd9) {
      // str8: keys of 32 bytes and over, as msgpackr writes them.
      pos++;
      k = key(u8());
    } else if (b === 0xda || b === 0xdb) k = read() as string;
    else throw NOT_HERE;
    // A topic (the envelope's, an embedded message's) is read as the string its bytes made before.
    const value = k.length === 5 && k === 'topic' ? topic() : read();
    // msgpackr's own guard: an own `__proto__` key would set the object's prototype.
    out[k === '__proto__' ? '__proto_' : k] = value;
  }
  depth--;
  return out;
}

/** A `topic` member's value: a str of up to 255 bytes through msgpack-topic.ts, anything else as read() reads it. */
function topic(): unknown {
  const b = pos + 1 < end ? (src[pos] as number) : 0;
  const head = b >= 0xa0 && b < 0xc0 ? 1 : b === 0xd9 ? 2 : 0;
  if (head === 0) return read();
  const length = head === 1 ? b & 0x1f : (src[pos + 1] as number);
  const at = pos + head;
  if (length > end - at) throw NOT_HERE;
  const kept = cachedTopic(view, at, length, end);
  if (kept !== undefined) {
    pos = at + length;
    return kept;
  }
  pos = at;
  const s = str(length);
  keepTopic(view, at, length, end, s);
  return s;
}

/**
 * Makes the decoded maps of more than 4 members: plain objects like `{}`'s (the same prototype,
 * hence constructor, and nothing of their own but the members stored), with room for 10 members
 * inside the object where `{}` has 4. Such a map made from `{}` moved its members out to a
 * separate backing store, grown by reallocation while stored into: about 3.5 k instructions per
 * replayed entry (docs/benchmarks.md, "Replay by instructions").
 */
const Plain = function Plain() {} as unknown as new () => Record<string, unknown>;
Plain.prototype = Object.prototype;

/** A container of `members` opened one level deeper (plainShape). */
function enter(members: number): void {
  if (++depth > plainShape.depth) plainShape.depth = depth;
  plainShape.members += members;
}

/** Longest key compared as 32-bit words (wordKey), in bytes: 96% of a fixture record's keys. */
const MAX_WORD_KEY = 16;
/** wordKey's cache: each slot's key length (0: empty), its bytes as four big-endian words (zero past the key), its string. */
const wordLengths = new Int32Array(KEY_SLOTS);
const wordBytes = new Int32Array(KEY_SLOTS * 4);
const wordKeys: (string | undefined)[] = new Array(KEY_SLOTS);

/**
 * A map key: from a cache when its bytes were seen before, up to 16 bytes here (wordKey), up to
 * MAX_LONG_KEY in msgpack-keys.ts. Both read the key as whole 32-bit words, the bytes past it
 * masked off, so only a key whose last word would run past the buffer itself (not just past
 * `end`) is decoded afresh, as are empty and longer ones.
 */
function key(length: number): string {
  if (length > MAX_LONG_KEY || length === 0) return str(length);
  if (length > end - pos) throw NOT_HERE;
  if (pos + ((length + 3) & ~3) > src.byteLength) return str(length);
  if (length <= MAX_WORD_KEY) return wordKey(length);
  const s = longKey(src, view, pos, length);
  pos += length;
  return s;
}

/**
 * key() of 1–MAX_WORD_KEY bytes with whole words readable in the buffer: the bytes read as up to
 * four 32-bit words through the DataView, the bytes past the key masked off, hashed and compared
 * as words. A byte-by-byte hash and compare was ~430 instructions per key (callgrind): every byte
 * read of a typed array held in a module variable reloads and checks it. Same answer as key(): a hit only for the same length and bytes.
 */
function wordKey(length: number): string {
  const words = (length + 3) >> 2;
  // Big-endian words: the key's bytes are the high ones of the last word; a whole word keeps all.
  const rem = length & 3;
  const mask = rem === 0 ? -1 : ~(-1 >>> (rem << 3));
  let w0 = view.getInt32(pos);
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  if (words === 1) w0 &= mask;
  else {
    w1 = view.getInt32(pos + 4);
    if (words === 2) w1 &= mask;
    else {
      w2 = view.getInt32(pos + 8);
      if (words === 3) w2 &= mask;
      else w3 = view.getInt32(pos + 12) & mask;
    }
  }
  let h = Math.imul(w0 ^ length, 0x9e3779b1);
  h = Math.imul(h ^ w1 ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ w2 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ w3 ^ (h >>> 16), 0x27d4eb2f);
  const slot = (h ^ (h >>> 15)) & (KEY_SLOTS - 1);
  const at = slot << 2;
  if (
    wordLengths[slot] === length &&
    wordBytes[at] === w0 &&
    wordBytes[at + 1] === w1 &&
    wordBytes[at + 2] === w2 &&
    wordBytes[at + 3] === w3
  ) {
    pos += length;
    return wordKeys[slot] as string;
  }
  const s = str(length);
  wordLengths[slot] = length;
  wordBytes[at] = w0;
  wordBytes[at + 1] = w1;
  wordBytes[at + 2] = w2;
  wordBytes[at + 3] = w3;
  wordKeys[slot] = s;
  return s;
}

/**
 * `length` bytes of UTF-8 as a string, as TextDecoder (and msgpackr's own decoder) makes it,
 * malformed sequences replaced (test/snapshots/msgpack-read.test.ts). A short ASCII string is
 * made here from its bytes: about half a record's strings are under 13 bytes, and a call into
 * Buffer's decoder cost more than the string itself (~700 instructions each). Anything longer
 * goes to the UTF-8 decoder whole, ASCII too: it finds ASCII faster than a loop here did.
 */
function str(length: number): string {
  if (length > end - pos) throw NOT_HERE;
  const start = pos;
  const stop = start + length;
  pos = stop;
  if (length <= MAX_SHORT) {
    let any = 0;
    for (let i = start; i < stop; i++) any |= src[i] as number;
    if (any < 0x80) return shortAscii(src, start, length);
  }
  return src.utf8Slice(start, stop);
}

/** Longest string shortAscii() makes. */
const MAX_SHORT = 12;
/** Its indexes are within the bytes str() bounded: never undefined. */
const fromCharCode = String.fromCharCode as (...codes: (number | undefined)[]) => string;

/** `length` (at most MAX_SHORT) ASCII bytes of `b` from `a`, one argument each: no array, no call out of JavaScript. */
function shortAscii(b: Uint8Array, a: number, length: number): string {
  switch (length) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[a]);
    case 2:
      return fromCharCode(b[a], b[a + 1]);
    case 3:
      return fromCharCode(b[a], b[a + 1], b[a + 2]);
    case 4:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3]);
    case 5:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3], b[a + 4]);
    case 6:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3], b[a + 4], b[a + 5]);
    case 7:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3], b[a + 4], b[a + 5], b[a + 6]);
    case 8:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3], b[a + 4], b[a + 5], b[a + 6], b[a + 7]);
    case 9:
      return fromCharCode(b[a], b[a + 1], b[a + 2], b[a + 3], b[a + 4], b[a + 5], b[a + 6], b[a + 7], b[a + 8]);
    case 10:
      return fromCharCode(
        b[a],
        b[a + 1],
        b[a + 2],
        b[a + 3],
        b[a + 4],
        b[a + 5],
        b[a + 6],
        b[a + 7],
        b[a + 8],
        b[a + 9],
      );
    case 11:
      return fromCharCode(
        b[a],
        b[a + 1],
        b[a + 2],
        b[a + 3],
        b[a + 4],
        b[a + 5],
        b[a + 6],
        b[a + 7],
        b[a + 8],
        b[a + 9],
        b[a + 10],
      );
    case 12:
      return fromCharCode(
        b[a],
        b[a + 1],
        b[a + 2],
        b[a + 3],
        b[a + 4],
        b[a + 5],
        b[a + 6],
        b[a + 7],
        b[a + 8],
        b[a + 9],
        b[a + 10],
        b[a + 11],
      );
    default:
      throw NOT_HERE;
  }
}
