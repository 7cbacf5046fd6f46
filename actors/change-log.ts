/**
 * One change log per plugin: every write to any of its containers appends (container, key),
 * and each reader (a snapshot slot, a live view) keeps its own cursor into it. Readers ask
 * for the changes since their cursor, so a snapshot writes and a WebSocket frame carries
 * only what changed, at O(changes) cost; the HTTP cache keys on `position`.
 *
 * The log is bounded: entries every reader has passed are dropped, and when readers lag too
 * far behind (no snapshot for a long time, say) the oldest entries are dropped anyway. A
 * reader whose cursor fell off the log gets `null` and resynchronises from the whole state.
 * While no reader can read it (none open, or every one fell off, and no pin), the log keeps
 * nothing: a write only moves the position (keeping).
 */

import { ChangeChunks, IN_CHUNK } from './change-chunks.js';

/** Container index 0 is `rows`; 1… are the plugin's extra stores in declaration order. */
export const ROWS = 0;

/**
 * Entries kept at least, whatever the state's size (a small plugin still buffers some
 * history): 16 Ki entries are 256 KiB per plugin. Past max(this, 2 × the state's keys) a
 * lagging reader is cheaper to resynchronise from the whole state than to keep a log for.
 */
const MIN_CAPACITY = 16_384;

export class ChangeCursor {
  /** Log position up to which this reader has consumed changes. */
  position: number;
  closed = false;

  constructor(position: number) {
    this.position = position;
  }
}

export class ChangeLog extends ChangeChunks {
  /** Bumped by reset(): readers from before it must resynchronise. */
  private resetAt = 0;
  private readonly readers = new Set<ChangeCursor>();
  private pinnedAt = Number.POSITIVE_INFINITY;
  /**
   * Whether some reader's cursor is still in the log, or a pin holds it: otherwise no one can
   * read an entry recorded now (a reader opened later starts after it, one that fell off
   * resynchronises from the whole state), and writes only move the position. Replay with no
   * snapshot slot to write incrementally (snapshotter.ts opens a slot's reader at its first
   * whole write) recorded every write of every plugin for no reader: ~11% of its main-thread
   * CPU per message, with the chunks and the keys they held for the GC to trace and promote.
   */
  private keeping = false;

  /** `capacity()`: how many entries may be kept before the oldest go (a function of the state's size). */
  constructor(private readonly capacity: () => number = () => MIN_CAPACITY) {
    super();
  }

  /** Changes whenever any container changes: caches key on it. */
  get position(): number {
    return this.base + this.count;
  }

  /** Hot path: three stores into the last chunk, no allocation once the log has reached its size. */
  record(container: number, key: string): void {
    if (!this.keeping) {
      this.base++;
      return;
    }
    const p = this.start + this.count;
    const c = this.chunkFor(p);
    const j = p & IN_CHUNK;
    c.containers[j] = container;
    c.keys[j] = key;
    c.times[j] = Number.NaN;
    this.count++;
    if (this.count >= MIN_CAPACITY && (this.count & 0xfff) === 0) this.trim();
  }

  /**
   * record() of the key `String(ts)` U+001F `rest` (a row grouped by timestamp: grouped-rows.ts),
   * kept in its two parts and joined when read. The joined string is made for each write and
   * held here until every reader has passed it: during replay (no snapshot written yet, so the
   * snapshot slots' readers hold the log up to its capacity) each survived the young generation
   * and was copied and promoted by the GC; the rest is the string its row holds already.
   */
  recordSplit(container: number, ts: number, rest: string): void {
    if (!this.keeping) {
      this.base++;
      return;
    }
    const p = this.start + this.count;
    const c = this.chunkFor(p);
    const j = p & IN_CHUNK;
    c.containers[j] = container;
    c.keys[j] = rest;
    c.times[j] = ts;
    this.count++;
    if (this.count >= MIN_CAPACITY && (this.count & 0xfff) === 0) this.trim();
  }

  /**
   * record() of the key `String(ts)` (a row keyed by its timestamp alone: number-keyed-rows.ts),
   * kept as the number and made again when read, for the reason recordSplit() gives. Marked by
   * the container's complement, so no array is added for it.
   */
  recordNumber(container: number, ts: number): void {
    if (!this.keeping) {
      this.base++;
      return;
    }
    const p = this.start + this.count;
    const c = this.chunkFor(p);
    const j = p & IN_CHUNK;
    c.containers[j] = ~container;
    c.keys[j] = '';
    c.times[j] = ts;
    this.count++;
    if (this.count >= MIN_CAPACITY && (this.count & 0xfff) === 0) this.trim();
  }

  /** Every reader must start over (the state was replaced wholesale, e.g. by a restore). */
  reset(): void {
    this.drop(this.count);
    // An empty entry-free jump, so cached answers keyed on the old position are not reused.
    this.base++;
    this.resetAt = this.base;
    this.review();
  }

  /** A reader positioned at the current end: it sees only later changes. */
  open(): ChangeCursor {
    const cursor = new ChangeCursor(this.position);
    this.readers.add(cursor);
    this.keeping = true;
    return cursor;
  }

  close(cursor: ChangeCursor): void {
    cursor.closed = true;
    this.readers.delete(cursor);
    this.trim();
    this.review();
  }

  /** Whether the entries from `from` on are still in the log (false: resynchronise from the whole state). */
  covers(from: number): boolean {
    return from >= this.base && from >= this.resetAt && from <= this.position;
  }

  /**
   * Calls `visit` for each entry in [from, to) (both log positions); returns false, visiting
   * nothing, when `from` fell off the log. Keys may repeat: callers dedupe when it matters.
   */
  forEach(from: number, to: number, visit: (container: number, key: string) => void): boolean {
    if (!this.covers(from)) return false;
    const end = Math.min(to, this.position) - this.base;
    for (let i = from - this.base; i < end; i++) visit(this.containerOfEntry(i), this.keyOfEntry(i));
    return true;
  }

  /** The entry at a log position, or undefined once it fell off (read with pin() held, it never does). */
  containerAt(position: number): number | undefined {
    return position >= this.base && position < this.position ? this.containerOfEntry(position - this.base) : undefined;
  }

  keyAt(position: number): string | undefined {
    return position >= this.base && position < this.position ? this.keyOfEntry(position - this.base) : undefined;
  }

  /** Keeps entries from `position` on while a snapshot reads them over several turns, whatever the capacity. */
  pin(position: number): void {
    this.pinnedAt = position;
    this.keeping = true;
  }

  unpin(): void {
    this.pinnedAt = Number.POSITIVE_INFINITY;
    this.review();
  }

  /** Moves a reader's cursor and drops entries no reader needs any more. */
  advance(cursor: ChangeCursor, to: number): void {
    cursor.position = to;
    if (this.covers(to)) this.keeping = true;
    if (this.count >= 1024) this.trim();
  }

  /** Entries held now (for stats and tests). */
  get length(): number {
    return this.count;
  }

  private trim(): void {
    let min = this.position;
    for (const r of this.readers) if (r.position < min) min = r.position;
    let drop = Math.max(0, min - this.base);
    // Readers this far behind resynchronise rather than hold memory without bound. Half the
    // capacity goes at once (when entries were copied down on a drop, that kept the copy O(1)
    // per entry; the same steps now, so which readers must resynchronise is unchanged).
    const capacity = Math.max(MIN_CAPACITY, this.capacity());
    const over = this.count - drop - capacity;
    if (over > 0) drop += over + (capacity >>> 1);
    drop = Math.min(drop, this.pinnedAt - this.base);
    // Drop in large steps only, as ever (see above).
    if (drop > 0 && (drop >= this.count / 2 || over > 0)) this.drop(drop);
    // Dropped past the last readers still in the log: they resynchronise, and nothing is kept.
    if (over > 0) this.review();
  }

  /** Sets `keeping`; when no one can read the log any more, drops what it holds. */
  private review(): void {
    let keeping = this.pinnedAt !== Number.POSITIVE_INFINITY;
    if (!keeping)
      for (const r of this.readers)
        if (this.covers(r.position)) {
          keeping = true;
          break;
        }
    this.keeping = keeping;
    if (!keeping) this.drop(this.count);
  }
}
