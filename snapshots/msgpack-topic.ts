/**
 * One string per distinct topic for replay's decoder (msgpack-read.ts): the bus repeats a few
 * hundred topics endlessly, and every replayed record held its topic as a string of its own.
 * Each was decoded by a call out to Buffer (~50 bytes of UTF-8), then hashed afresh wherever a
 * Map is looked up by it (the route cache, meta's rule and link tables, envelope.ts's parts) and
 * compared there character by character with the key it found. A topic read here is the string
 * an earlier record's identical bytes made: its hash is kept in it, and those lookups find their
 * key by identity.
 *
 * Slots are found by the topic's length and three of its 32-bit words, then its bytes compared
 * word by word: topics that share a slot only take turns in it (a miss decodes the topic again),
 * never answer for each other. A flood of distinct topics costs a compare and a copy of its
 * words each.
 */

const SLOTS = 1024;
/** Each slot's topic length in bytes (0: empty), its bytes as big-endian words (zero past the topic), its string. */
const lengths = new Int32Array(SLOTS);
const words: (Int32Array | undefined)[] = new Array(SLOTS);
const strings: (string | undefined)[] = new Array(SLOTS);

/** The word at `at` with the bytes past `length` (counted from `from`) zeroed: they are not the topic's. */
function wordAt(view: DataView, from: number, at: number, length: number): number {
  const w = view.getInt32(at);
  const rem = from + length - at;
  return rem >= 4 ? w : w & ~(-1 >>> (rem << 3));
}

/** The slot of the `length` bytes at `at`, or -1 when they cannot be read as whole words before `end`. */
function slotOf(view: DataView, at: number, length: number, end: number): number {
  const last = at + (((length + 3) >> 2) - 1) * 4;
  if (length === 0 || last + 4 > end) return -1;
  let h = Math.imul(wordAt(view, at, at, length) ^ length, 0x9e3779b1);
  h = Math.imul(h ^ wordAt(view, at, last, length) ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ wordAt(view, at, at + ((length >> 3) << 2), length) ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & (SLOTS - 1);
}

/** The topic an earlier record's same `length` bytes at `at` made, or undefined. */
export function cachedTopic(view: DataView, at: number, length: number, end: number): string | undefined {
  const slot = slotOf(view, at, length, end);
  if (slot < 0 || lengths[slot] !== length) return undefined;
  const kept = words[slot] as Int32Array;
  for (let i = 0, p = at; i < kept.length; i++, p += 4) if (wordAt(view, at, p, length) !== kept[i]) return undefined;
  return strings[slot];
}

/** Keeps `topic`, decoded from the `length` bytes at `at`, for cachedTopic(). */
export function keepTopic(view: DataView, at: number, length: number, end: number, topic: string): void {
  const slot = slotOf(view, at, length, end);
  if (slot < 0) return;
  const kept = new Int32Array((length + 3) >> 2);
  for (let i = 0, p = at; i < kept.length; i++, p += 4) kept[i] = wordAt(view, at, p, length);
  lengths[slot] = length;
  words[slot] = kept;
  strings[slot] = topic;
}
