/**
 * Counts per name over a sliding window of message time, e.g. `windowedCounter('1h', { slices: 60 })`.
 *
 * The window is cut into `slices` sub-buckets of `span / slices` seconds; what is stored (and
 * snapshotted) is one count per (slice, name) under the key `<slice start>\u001f<name>`. The
 * total per name over the window lives in memory only and is kept by `afterWrite`, so adding,
 * rolling back, restoring and expiring all keep it exact in O(1) per entry. When the runtime
 * moves message time forward, the slices that left the window are deleted oldest first (plain
 * deletes, recorded as changes; the runtime commits them before the message's own writes, so a
 * dropped message does not undo them), which costs O(expired entries), never a scan of the names.
 * Past the key cap, the oldest slices are forgotten early the same way (evictOldestSlices()).
 */
import { KeyedStore } from './keyed-store.js';

const SEP = '\u001f';

/** What `update` may do with a windowed counter. */
export interface WindowedCounterWriter extends ReadonlyWindowedCounter {
  /**
   * Counts `n` (default 1) for `name` at message time `time`. Returns false, counting nothing,
   * when `time` is already behind the window (a late message).
   */
  add(name: string, time: number, n?: number): boolean;
}

/** What `view` may read. */
export interface ReadonlyWindowedCounter {
  /** Window length in seconds, and one slice's. */
  readonly span: number;
  readonly step: number;
  /** Names with a non-zero total. */
  readonly names: number;
  /** The total for `name` over the window ending at the newest message (0 when absent). */
  total(name: string): number;
  /** [name, total] for every name in the window, in no particular order. */
  totals(): IterableIterator<[string, number]>;
}

export class WindowedCounter extends KeyedStore<number> implements WindowedCounterWriter {
  readonly step: number;
  private readonly totalsByName = new Map<string, number>();
  private readonly bySlice = new Map<number, Set<string>>();
  /** Slice starts that hold entries, ascending; new ones are nearly always appended. */
  private readonly starts: number[] = [];
  /** The key add() is writing, split already, so afterWrite need not parse it back. */
  private addingKey = '';
  private addingStart = 0;
  private addingName = '';
  /** Start of the oldest slice still inside the window, as of the last advance(). */
  private windowStart = -Infinity;
  /**
   * The key strings add() made for the newest slice it wrote, by name: a name counted again in
   * that slice reuses its key (already hashed) instead of building and hashing a new one per
   * add, and the change and undo logs keep that one string. A cache of strings only (each is
   * `<start>U+001F<name>`, whether or not the entry still exists), never more than the newest
   * slice held at its largest (one message's writes included); dropped when a newer slice begins.
   */
  private recentStart = Number.NaN;
  private recentKeys = new Map<string, string>();

  constructor(
    readonly span: number,
    readonly slices: number,
  ) {
    super();
    this.step = span / slices;
  }

  get names(): number {
    return this.totalsByName.size;
  }

  total(name: string): number {
    return this.totalsByName.get(name) ?? 0;
  }

  totals(): IterableIterator<[string, number]> {
    return this.totalsByName.entries();
  }

  add(name: string, time: number, n = 1): boolean {
    const start = this.sliceStart(time);
    if (start < this.windowStart) return false;
    let key: string | undefined;
    if (start === this.recentStart) key = this.recentKeys.get(name);
    else if (!(start < this.recentStart)) {
      this.recentStart = start;
      this.recentKeys = new Map();
    }
    if (key === undefined) {
      key = `${start}${SEP}${name}`;
      // At most one more than the slice holds now: names whose writes were undone (a message
      // dropped at the key cap, or whose plugin threw) must not grow the cache message after message.
      if (start === this.recentStart && this.recentKeys.size <= this.newestSliceSize) this.recentKeys.set(name, key);
    }
    const previous = this.map.get(key);
    const next = (previous ?? 0) + n;
    this.addingKey = key;
    this.addingStart = start;
    this.addingName = name;
    if (next === 0) this.delete(key);
    else this.setOver(key, next, previous);
    this.addingKey = '';
    return true;
  }

  /** Moves the window to end at `now` (the newest message time); returns the entries deleted. */
  advance(now: number): number {
    this.windowStart = this.sliceStart(now) - (this.slices - 1) * this.step;
    let expired = 0;
    while (this.starts.length > 0 && (this.starts[0] as number) < this.windowStart) expired += this.dropOldestSlice();
    return expired;
  }

  /** Entries in the newest slice holding any: what evictOldestSlices() cannot make room from. */
  get newestSliceSize(): number {
    const starts = this.starts;
    return starts.length === 0 ? 0 : (this.bySlice.get(starts[starts.length - 1] as number)?.size ?? 0);
  }

  /**
   * Deletes whole slices, oldest first, until at most `maxKeys` entries are left or only the
   * newest slice is; returns the entries deleted. Whole slices, so which entries go depends on
   * the message times alone (not on the order a restore loaded them): replicas stay equal.
   */
  evictOldestSlices(maxKeys: number): number {
    let evicted = 0;
    while (this.size > maxKeys && this.starts.length > 1) evicted += this.dropOldestSlice();
    return evicted;
  }

  /** Deletes the oldest slice's entries, each recorded as delete() would (minus the unindexing). */
  private dropOldestSlice(): number {
    const start = this.starts.shift() as number;
    const keys = this.bySlice.get(start);
    // The slice leaves the index at once; its keys are then deleted one by one.
    this.bySlice.delete(start);
    if (keys === undefined) return 0;
    for (const key of keys) {
      const previous = this.map.get(key) as number;
      this.map.delete(key);
      this.retotal(key.slice(key.indexOf(SEP) + 1), previous, undefined);
      this.recordDeleted(key, previous);
    }
    return keys.size;
  }

  private sliceStart(t: number): number {
    return Math.floor(t / this.step) * this.step;
  }

  protected override afterWrite(key: string, previous: number | undefined, next: number | undefined): void {
    let start = this.addingStart;
    let name = this.addingName;
    if (key !== this.addingKey) {
      const at = key.indexOf(SEP);
      start = Number(key.slice(0, at));
      name = key.slice(at + 1);
    }
    this.retotal(name, previous, next);
    if (previous === undefined && next !== undefined) this.index(start, key);
    else if (previous !== undefined && next === undefined) this.unindex(start, key);
  }

  /** Moves the total of `name` by one entry's change from `previous` to `next`. */
  private retotal(name: string, previous: number | undefined, next: number | undefined): void {
    const total = (this.totalsByName.get(name) ?? 0) + (next ?? 0) - (previous ?? 0);
    if (total === 0) this.totalsByName.delete(name);
    else this.totalsByName.set(name, total);
  }

  private index(start: number, key: string): void {
    let keys = this.bySlice.get(start);
    if (!keys) {
      keys = new Set();
      this.bySlice.set(start, keys);
      let at = this.starts.length;
      while (at > 0 && (this.starts[at - 1] as number) > start) at--;
      this.starts.splice(at, 0, start);
    }
    keys.add(key);
  }

  private unindex(start: number, key: string): void {
    const keys = this.bySlice.get(start);
    if (!keys) return;
    keys.delete(key);
    if (keys.size > 0) return;
    this.bySlice.delete(start);
    const at = this.starts.indexOf(start);
    if (at >= 0) this.starts.splice(at, 1);
  }
}
