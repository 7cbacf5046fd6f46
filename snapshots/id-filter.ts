/**
 * A Bloom filter of message ids: "certainly never journaled" without reading LMDB. A new
 * message (nearly every one) used to cost a B-tree lookup in the journal's id index once its
 * id was not among the recent ones in memory: ~5 µs of main-thread CPU per message at 3 k
 * msg/s, the largest cost of ingest outside the plugins, and more as the index outgrows the
 * page cache. The filter answers that in a fraction of a microsecond; only its "maybe"s (real
 * duplicates and ~1% false positives) still read the index, which stays the authority.
 *
 * Never a false "no" for an id added: ids trimmed from the journal stay in (they only raise the
 * false-positive rate until the next rebuild, see known-ids.ts).
 */

/** Bits per id at capacity, and hash functions: ~0.8% false positives when full. */
const BITS_PER_ID = 10;
const HASHES = 7;
/**
 * Smallest and largest capacity: 64 Ki ids (128 KiB) and 16 Mi ids (32 MiB), eight times what
 * the default 2 GiB journal cap holds of the smallest fedmsg records. Past that the filter
 * answers "maybe" more often, and the index is read more: slower, never wrong.
 */
export const MIN_FILTER_IDS = 1 << 16;
export const MAX_FILTER_IDS = 1 << 24;

export class IdFilter {
  /** Ids the filter was sized for: past that its false-positive rate climbs, and KnownIds fills a new one. */
  readonly capacity: number;
  private readonly words: Uint32Array;
  /** Bit count minus one (a power of two). */
  private readonly mask: number;
  /** Ids added so far (repeats included). */
  added = 0;

  constructor(capacity: number) {
    const wanted = Number.isNaN(capacity) ? MIN_FILTER_IDS : Math.ceil(capacity);
    this.capacity = Math.min(MAX_FILTER_IDS, Math.max(MIN_FILTER_IDS, wanted));
    // A power of two of bits, so an index is a mask instead of a division.
    let bits = 32;
    while (bits < this.capacity * BITS_PER_ID) bits *= 2;
    this.words = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  /** Bytes the bit array takes. */
  get bytes(): number {
    return this.words.byteLength;
  }

  add(id: string): void {
    hash(id);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.words[bit >>> 5] = (this.words[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.added++;
  }

  /** False: `id` was never added. True: it may have been. */
  mightHold(id: string): boolean {
    hash(id);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if (((this.words[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

// Two 32-bit hashes of the UTF-16 units in one pass (two lanes mixed as in cyrb53), combined by
// double hashing (Kirsch and Mitzenmacher): bit i is h1 + i·h2. Module variables, not an array,
// so hashing allocates nothing.
let h1 = 0;
let h2 = 0;
/**
 * The string h1 and h2 are of: a new message's id is asked (mightHold) and then added (add)
 * straight after, and hashing it again was a loop over its ~60 units per message.
 */
let hashed: string | undefined;

function hash(s: string): void {
  if (s === hashed) return;
  let a = 0xdeadbeef;
  let b = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  h1 = a;
  // Odd: with a power-of-two table, the HASHES steps then land on distinct bits.
  h2 = b | 1;
  hashed = s;
}
