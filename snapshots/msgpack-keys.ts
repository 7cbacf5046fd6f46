/**
 * Map keys of 17–64 bytes for replay's decoder (msgpack-read.ts, whose wordKey() holds the
 * shorter ones): one string per distinct key, compared as 32-bit words. Such keys were 4% of a
 * fixture record's, ~1.3 a record (`open_issues_count`, `x-mailman-rule-misses`,
 * `Enforce_signed-off_commits_in_pull-request`), and each cost a byte-by-byte hash and compare
 * (17–32 bytes) or a fresh decode whose string V8 then looked up in its string table when
 * storing it as a member (33 and over): ~1 k instructions a record (callgrind).
 *
 * A slot is found by the key's length and three of its words, then every word compared (the
 * last with the bytes past the key masked off): keys that share a slot only take turns in it (a
 * miss decodes the key again), never answer for each other.
 */

/** What decodes a key's bytes on a miss: Node's Buffer without toString()'s encoding lookup. */
export interface Utf8Source {
  utf8Slice(start: number, end: number): string;
}

/** Longest key kept here, in bytes; longer ones are rare enough to decode each time. */
export const MAX_LONG_KEY = 64;
const MAX_WORDS = MAX_LONG_KEY >> 2;
const SLOTS = 1024;
/** Each slot's key length in bytes (0: empty), its bytes as big-endian words (MAX_WORDS a slot, zero past the key), its string. */
const lengths = new Int32Array(SLOTS);
const words = new Int32Array(SLOTS * MAX_WORDS);
const strings: (string | undefined)[] = new Array(SLOTS);

/**
 * The key of `length` bytes (17–MAX_LONG_KEY) at `at`: the string an earlier key of the same bytes
 * made, else decoded from `src` and kept. The caller has checked that the bytes up to the key's
 * last whole word, `at + ((length + 3) & ~3)`, lie within `view` (bytes past the key are masked).
 */
export function longKey(src: Utf8Source, view: DataView, at: number, length: number): string {
  const n = (length + 3) >> 2;
  const lastAt = at + ((n - 1) << 2);
  const rem = length & 3;
  const last = rem === 0 ? view.getInt32(lastAt) : view.getInt32(lastAt) & ~(-1 >>> (rem << 3));
  const first = view.getInt32(at);
  // A whole word of the key's for any length of 8 and over: (length >> 3) * 4 + 4 <= length.
  let h = Math.imul(first ^ length, 0x9e3779b1);
  h = Math.imul(h ^ last ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ view.getInt32(at + ((length >> 3) << 2)) ^ (h >>> 13), 0xc2b2ae35);
  const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
  const base = slot * MAX_WORDS;
  if (lengths[slot] === length && words[base] === first && words[base + n - 1] === last) {
    let i = 1;
    for (let p = at + 4; i < n - 1; i++, p += 4) if (view.getInt32(p) !== words[base + i]) break;
    if (i >= n - 1) return strings[slot] as string;
  }
  const s = src.utf8Slice(at, at + length);
  lengths[slot] = length;
  words[base] = first;
  for (let i = 1, p = at + 4; i < n - 1; i++, p += 4) words[base + i] = view.getInt32(p);
  words[base + n - 1] = last;
  strings[slot] = s;
  return s;
}
