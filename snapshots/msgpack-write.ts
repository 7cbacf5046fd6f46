/**
 * A journal record's msgpack body written without msgpackr, for the JSON-shaped values a record
 * holds (plain objects, arrays, strings, numbers, booleans, null): the counterpart of
 * msgpack-read.ts. Its bytes are msgpackr's (the codec's Packr: no records, variable map sizes)
 * for every value it writes (test/snapshots/msgpack-write.test.ts); anything else (another class,
 * a typed array, a bigint) answers -1, and a value that would not fit NO_ROOM, for msgpackr (codec.ts), whose
 * pack() serves every type and option it has: ~15% of the bus thread's CPU per message.
 */
const NOT_HERE = new Error('not written here'); // thrown for a value not written here
const FULL = new Error('no room'); // thrown for a value that would run past the target's end
/** writePlain's answer for a value it would write, but not in the room the target has after `start`. */
export const NO_ROOM = -2;
// Node's Buffer encoder without write()'s encoding lookup and argument checks (not in @types/node).
interface WriteBuffer extends Buffer {
  utf8Write(value: string, offset: number, length: number): number;
}
let t = Buffer.alloc(0) as WriteBuffer; // kept until the next call (a batch buffer, detached once sent)
let pos = 0;
let safeEnd = 0; // past it a value may not fit: the largest write but a string's is a float64's 9 bytes
let view: DataView = new DataView(new ArrayBuffer(8));
let viewed: Buffer | null = null; // the target `view` is of
const OBJECT_PROTO = Object.prototype;

/**
 * `value` as msgpack at target[start..): where it ends; -1 when it is not written here, NO_ROOM when
 * it did not fit (a caller with a fresh buffer can try again there). Either way bytes are left behind.
 */
export function writePlain(value: unknown, target: Buffer, start: number): number {
  if (target !== viewed) {
    // A Buffer's bytes never move: the view is made once per target (reading `buffer` on each call
    // showed in the profile of encodeChecked's small values). A transferred one has length 0: FULL.
    viewed = target;
    view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  }
  t = target as WriteBuffer;
  pos = start;
  safeEnd = t.length - 9;
  // While Object.prototype has an enumerable property (which this writer once walked with for-in), msgpackr decides.
  for (const _ in OBJECT_PROTO) return -1;
  try {
    write(value);
    return pos;
  } catch (err) {
    // NOT_HERE, or a RangeError (a stack too deep): msgpackr decides, as it did before this writer.
    return err === FULL ? NO_ROOM : -1;
  }
}

function write(value: unknown): void {
  if (pos > safeEnd) throw FULL;
  switch (typeof value) {
    case 'string':
      str(value);
      return;
    case 'number':
      num(value);
      return;
    case 'boolean':
      t[pos++] = value ? 0xc3 : 0xc2;
      return;
    case 'object': {
      if (value === null) {
        t[pos++] = 0xc0;
        return;
      }
      // msgpackr's own test: anything else goes through its extensions and toJSON.
      const kind = value.constructor;
      if (kind === Object) object(value as Record<string, unknown>);
      else if (kind === Array) array(value as unknown[]);
      else throw NOT_HERE;
      return;
    }
    case 'undefined':
      // msgpackr's undefined (an array's hole too): fixext 1 of type 0, one zero byte.
      t[pos++] = 0xd4;
      t[pos++] = 0;
      t[pos++] = 0;
      return;
    default:
      throw NOT_HERE;
  }
}

/**
 * A map's entries in Object.keys order, as msgpackr writes them: only objects whose prototype is
 * Object.prototype (while that has no enumerable property: writePlain). A header past a fixmap's
 * moves the entries up.
 */
function object(value: Record<string, unknown>): void {
  if (Object.getPrototypeOf(value) !== OBJECT_PROTO) throw NOT_HERE;
  const at = pos++;
  // Keys and values as two arrays, not for-in and value[key]: the objects met here have hundreds
  // of shapes, and each value[key] was a megamorphic keyed load; Object.values reads the values
  // natively, in Object.keys order (for-in's for own members).
  const keys = Object.keys(value);
  const values = Object.values(value);
  const length = keys.length;
  for (let i = 0; i < length; i++) {
    key(keys[i] as string);
    write(values[i]);
  }
  if (length < 0x10) {
    t[at] = 0x80 | length;
    return;
  }
  const grow = length < 0x10000 ? 2 : 4;
  if (pos + grow > t.length) throw FULL;
  t.copyWithin(at + 1 + grow, at + 1, pos);
  const end = pos + grow;
  pos = at;
  header(length, 0x80, 0xde);
  pos = end;
}

function array(value: unknown[]): void {
  const length = value.length;
  header(length, 0x90, 0xdc);
  for (let i = 0; i < length; i++) write(value[i]);
}

/** A map's or array's header: fix (under 16), 16-bit (`code`) or 32-bit (`code` + 1). */
function header(length: number, fix: number, code: number): void {
  if (length < 0x10) t[pos++] = fix | length;
  else if (length < 0x10000) {
    t[pos] = code;
    t[pos + 1] = length >>> 8;
    t[pos + 2] = length & 0xff;
    pos += 3;
  } else {
    t[pos] = code + 1;
    view.setUint32(pos + 1, length);
    pos += 5;
  }
}

/**
 * msgpackr's choices: a uint32 the shortest unsigned form (0-127 a fixint, -0 too), an int32 below
 * 0 the shortest signed one, anything else a float64 (fractions, NaN, ±Infinity, past 32 bits).
 */
function num(n: number): void {
  if (n >>> 0 === n) {
    if (n < 0x80) t[pos++] = n;
    else if (n < 0x100) {
      t[pos] = 0xcc;
      t[pos + 1] = n;
      pos += 2;
    } else if (n < 0x10000) {
      t[pos] = 0xcd;
      t[pos + 1] = n >>> 8;
      t[pos + 2] = n & 0xff;
      pos += 3;
    } else {
      t[pos] = 0xce;
      view.setUint32(pos + 1, n);
      pos += 5;
    }
  } else if (n >> 0 === n) {
    if (n >= -0x20) t[pos++] = 0x100 + n;
    else if (n >= -0x80) {
      t[pos] = 0xd0;
      t[pos + 1] = n + 0x100;
      pos += 2;
    } else if (n >= -0x8000) {
      t[pos] = 0xd1;
      view.setInt16(pos + 1, n);
      pos += 3;
    } else {
      t[pos] = 0xd2;
      view.setInt32(pos + 1, n);
      pos += 5;
    }
  } else {
    t[pos] = 0xcb;
    view.setFloat64(pos + 1, n);
    pos += 9;
  }
}

/**
 * Map keys written before, as their fixstr's bytes in little-endian 32-bit words: most of a
 * record's keys are the same few hundred names (fedmsg's envelope and its bodies' schemas), and
 * str()'s loop costs ~37 instructions a character (V8 checks the string's representation and the
 * target's map on every one), where a known key is one Map look-up and a store per 4 bytes.
 * Keys of 4 to 31 ASCII characters (a shorter one costs the loop less than the look-up). The
 * first KEY_SLOTS such keys a thread writes stay; later ones are written by str() after a missed
 * look-up (~70 instructions), so one-off keys (a body keyed by data) cost no inserts or memory.
 */
const KEY_SLOTS = 4096;
const MIN_KEY = 4;
const KEY_WORDS = 8; // a fixstr's header and up to 31 bytes
const keyWords = new Int32Array(KEY_SLOTS * KEY_WORDS);
/** A key -> its slot in keyWords, KEY_WORDS words each. */
const keySlots = new Map<string, number>();

function key(s: string): void {
  const units = s.length;
  if (units < MIN_KEY) {
    str(s);
    return;
  }
  const found = keySlots.get(s);
  if (found === undefined) {
    const at = pos;
    str(s);
    // A fixstr of ASCII only: any other string has a longer header or more bytes than units.
    if (pos - at === units + 1 && keySlots.size < KEY_SLOTS) remember(s, at, units + 1);
    return;
  }
  // str()'s own room check, so that a value fits or not whether its keys were seen before.
  if (pos + 5 + 3 * units > t.length) throw FULL;
  const end = pos + units + 1;
  let w = found * KEY_WORDS;
  // The last word may write up to 3 bytes past the key, within that room: the next value writes over them.
  for (let p = pos; p < end; p += 4) view.setInt32(p, keyWords[w++] as number, true);
  pos = end;
}

/** Keeps the `bytes` just written at target[at..) as the words of `s`, zeros past its end. */
function remember(s: string, at: number, bytes: number): void {
  const slot = keySlots.size;
  let w = slot * KEY_WORDS;
  for (let i = 0; i < bytes; i += 4) {
    let word = 0;
    for (let k = 3; k >= 0; k--) word = (word << 8) | (i + k < bytes ? (t[at + i + k] as number) : 0);
    keyWords[w++] = word;
  }
  keySlots.set(s, slot);
}

// Non-ASCII strings of fewer UTF-16 units are encoded by utf8() here, longer ones (and ASCII ones
// of 32 units and over) by Buffer's utf8Write. Counted, the loop and that call cross over at 16–20
// units, not the ~30 once assumed (docs/benchmarks.md, twentieth session); 32 stays because a
// fixture record has no non-ASCII string of 16–31 units (0.07 under 16), so nothing counts a move.
const SHORT = 32;
/**
 * A str of the shortest header for its UTF-8 length (at most 3 bytes per UTF-16 unit, 5 of header).
 * An ASCII string under 32 units (most of a record's) is a fixstr written here in one pass: with
 * every string through strUtf8, the bus thread ran 8% more instructions per message (callgrind).
 */
function str(s: string): void {
  const units = s.length;
  if (pos + 5 + 3 * units > t.length) throw FULL;
  if (units < 0x20) {
    const b = t;
    let p = pos + 1;
    let i = 0;
    for (; i < units; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[p++] = c;
    }
    if (i === units) {
      b[pos] = 0xa0 | units;
      pos = p;
      return;
    }
  }
  strUtf8(s, units);
}

/**
 * str() for any string: after room for the longest header its length allows, moved up when shorter;
 * lone surrogates become U+FFFD, as msgpackr's and Buffer's encoders write them.
 */
function strUtf8(s: string, units: number): void {
  const head = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
  const at = pos + head;
  const length = units < SHORT ? utf8(s, units, at) : t.utf8Write(s, at, t.length - at);
  if (length < 0x20) {
    // Only a string of under 32 units has a UTF-8 length under 32: `head` was 1.
    t[pos] = 0xa0 | length;
    pos += 1 + length;
  } else if (length < 0x100) {
    if (head < 2) t.copyWithin(pos + 2, pos + 1, pos + 1 + length);
    t[pos] = 0xd9;
    t[pos + 1] = length;
    pos += 2 + length;
  } else if (length < 0x10000) {
    if (head < 3) t.copyWithin(pos + 3, pos + head, pos + head + length);
    t[pos] = 0xda;
    t[pos + 1] = length >>> 8;
    t[pos + 2] = length & 0xff;
    pos += 3 + length;
  } else {
    if (head < 5) t.copyWithin(pos + 5, pos + head, pos + head + length);
    t[pos] = 0xdb;
    view.setUint32(pos + 1, length);
    pos += 5 + length;
  }
}

/** `s` (`units` long) as UTF-8 at `at`; returns its length in bytes. */
function utf8(s: string, units: number, at: number): number {
  let p = at;
  for (let i = 0; i < units; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) t[p++] = c;
    else if (c < 0x800) {
      t[p++] = (c >> 6) | 0xc0;
      t[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(++i) & 0x03ff);
      t[p++] = (c >> 18) | 0xf0;
      t[p++] = ((c >> 12) & 0x3f) | 0x80;
      t[p++] = ((c >> 6) & 0x3f) | 0x80;
      t[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) === 0xd800) {
      t[p++] = 0xef;
      t[p++] = 0xbf;
      t[p++] = 0xbd;
    } else {
      t[p++] = (c >> 12) | 0xe0;
      t[p++] = ((c >> 6) & 0x3f) | 0x80;
      t[p++] = (c & 0x3f) | 0x80;
    }
  }
  return p - at;
}
