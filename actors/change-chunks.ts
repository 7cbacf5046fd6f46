/**
 * The change log's entries (change-log.ts), held in chunks: each entry's container and key
 * (whole, split at its timestamp, or a number), read back by index and dropped from the oldest.
 * ChangeLog extends it with the readers, their cursors, the pin and what is kept.
 */

import { SEP } from './row-key.js';

/** Entries per chunk of the log: 2 Ki, 32 KiB with their keys' pointers (chunk-sized steps, never a copy). */
const CHUNK_BITS = 11;
const CHUNK = 1 << CHUNK_BITS;
export const IN_CHUNK = CHUNK - 1;

/**
 * A fixed run of log entries. Chunks rather than three growing arrays: an array grown by half
 * again each time it fills was copied whole, ~3x what it came to hold allocated in all (through
 * replay, where the snapshot slots' readers keep every entry up to the capacity, about a fifth
 * of the bytes the 27 built-ins allocated per message), and dropping entries copied every kept
 * one down. Dropped chunks are kept for reuse, so a log that has reached its size allocates no more.
 */
class Chunk {
  /** Each entry's container, or for an entry recorded as a number (recordNumber) its bitwise complement (negative). */
  readonly containers = new Int32Array(CHUNK);
  /** The timestamp a split entry's key starts with; NaN for a whole key. */
  readonly times = new Float64Array(CHUNK);
  /** The key, or for an entry recorded split (recordSplit), the key's rest after `<times[i]>U+001F`. */
  readonly keys: string[] = new Array<string>(CHUNK).fill('');
}

export class ChangeChunks {
  /** Position of entry 0. */
  protected base = 0;
  /** The entries, oldest first; entry 0 is at `start` in the first chunk. */
  protected readonly chunks: Chunk[] = [];
  protected start = 0;
  /** Chunks dropped, for the next ones (their keys cleared). */
  protected readonly spare: Chunk[] = [];
  /** Entries in use. */
  protected count = 0;

  /** The chunk physical slot `p` (start + an entry's index) falls in, added when `p` is one past the last. */
  protected chunkFor(p: number): Chunk {
    const k = p >>> CHUNK_BITS;
    if (k < this.chunks.length) return this.chunks[k] as Chunk;
    const c = this.spare.pop() ?? new Chunk();
    this.chunks.push(c);
    return c;
  }

  /** The key of entry `i` (0: the oldest held). */
  protected keyOfEntry(i: number): string {
    const p = this.start + i;
    const c = this.chunks[p >>> CHUNK_BITS] as Chunk;
    const j = p & IN_CHUNK;
    const ts = c.times[j] as number;
    if ((c.containers[j] as number) < 0) return String(ts);
    const key = c.keys[j] as string;
    return Number.isNaN(ts) ? key : String(ts) + SEP + key;
  }

  protected containerOfEntry(i: number): number {
    const p = this.start + i;
    const c = (this.chunks[p >>> CHUNK_BITS] as Chunk).containers[p & IN_CHUNK] as number;
    return c < 0 ? ~c : c;
  }

  protected drop(n: number): void {
    if (n <= 0) return;
    // The dropped entries' keys are cleared (they would keep the strings alive until overwritten)
    // and whole chunks passed go to the spares: no entry kept is moved.
    const end = this.start + n;
    for (let p = this.start; p < end; ) {
      const stop = Math.min(end, ((p >>> CHUNK_BITS) + 1) << CHUNK_BITS);
      (this.chunks[p >>> CHUNK_BITS] as Chunk).keys.fill('', p & IN_CHUNK, ((stop - 1) & IN_CHUNK) + 1);
      p = stop;
    }
    const passed = end >>> CHUNK_BITS;
    for (let k = 0; k < passed; k++) this.spare.push(this.chunks[k] as Chunk);
    if (passed > 0) this.chunks.splice(0, passed);
    this.start = end & IN_CHUNK;
    this.count -= n;
    this.base += n;
  }
}
