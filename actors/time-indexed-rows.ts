/** RowStore's rows by time: the timestamp index, range scans and counts, and evictions by age or number: apart from the rows by key (row-store.ts), which is what a write derives and checks. */
import { GroupedRows } from './grouped-rows.js';
import { NumberKeyedRows } from './number-keyed-rows.js';
import type { Row } from './row-store.js';
import type { SortedTimes } from './sorted-times.js';
import { SplitKeyStore } from './split-key-writes.js';
import { TimestampIndex } from './timestamp-index.js';

export interface RowRange {
  /** Inclusive lower bound on `timestamp`. */
  readonly start?: number | undefined;
  /** Inclusive upper bound on `timestamp`. */
  readonly stop?: number | undefined;
  readonly order: 'asc' | 'desc';
}

/** What scans, counts and evictions read: GroupedRows, NumberKeyedRows, or a TimestampIndex beside a Map. */
interface TimeIndex<R> {
  readonly times: SortedTimes<unknown>;
  countAt(ts: number): number;
  keysAt(ts: number): IterableIterator<string>;
  /** The last `n` keys at `ts` in key order. */
  lastKeysAt(ts: number, n: number): string[];
  rowsAt(ts: number, asc: boolean, from: number, byValue: boolean): Iterable<R>;
}

/**
 * The rows a plugin serves, keyed by the plugin's row key and indexed by timestamp, so a
 * page of a time range costs O(log buckets + page), plus any dead slots in it (in all never
 * more than the live plus 32: sorted-times.ts), plus putting in order the keys a large
 * timestamp gained or lost since it was last read (sorted-keys.ts), and old buckets are
 * evicted in order without a timer per bucket. When the key columns start with `timestamp` the rows are kept
 * grouped by timestamp without their key strings (grouped-rows.ts), or with `timestamp` alone
 * by the timestamp as a number (number-keyed-rows.ts); otherwise in a Map with the keys per
 * timestamp beside it (timestamp-index.ts).
 */
export class TimeIndexedRows<R extends Row> extends SplitKeyStore<R> {
  protected readonly index: TimeIndex<R>;
  protected readonly flat: TimestampIndex<R> | null;
  protected readonly grouped: GroupedRows<R> | null;
  /** With `timestamp` the one key column: the rows by timestamp as a number. */
  protected readonly numbered: NumberKeyedRows<R> | null;
  /** With grouped rows and two key columns: the second, whose value is the key's rest. */
  protected readonly restColumn: string | null;
  /**
   * The index's timestamps when they stay one list (grouped rows, the flat index; rows by number
   * may move theirs into a generic index): read here directly, the newest and oldest are a load,
   * where the index's getter (one of three kinds) was a call the runtime made twice a message.
   */
  private readonly fixedTimes: SortedTimes<unknown> | null;

  /** `keyColumns`: RowStore's; rows are grouped by timestamp when they start with `timestamp` and have more. */
  constructor(keyColumns: readonly string[]) {
    const restColumn = keyColumns.length === 2 ? (keyColumns[1] as string) : null;
    const grouped = keyColumns.length >= 2 && keyColumns[0] === 'timestamp' ? new GroupedRows<R>(restColumn) : null;
    const numbered = keyColumns.length === 1 && keyColumns[0] === 'timestamp' ? new NumberKeyedRows<R>() : null;
    super(grouped ?? numbered ?? new Map<string, R>());
    this.restColumn = grouped === null ? null : restColumn;
    this.grouped = grouped;
    this.numbered = numbered;
    this.flat = grouped === null && numbered === null ? new TimestampIndex<R>((key) => this.map.get(key)) : null;
    this.index = grouped ?? numbered ?? (this.flat as TimestampIndex<R>);
    this.fixedTimes = numbered === null ? this.index.times : null;
  }

  get newestTimestamp(): number | undefined {
    return (this.fixedTimes ?? this.index.times).last;
  }

  get oldestTimestamp(): number | undefined {
    return (this.fixedTimes ?? this.index.times).first;
  }

  /** newestTimestamp, NaN with no row (any comparison false): a field read inline, not `last`'s call and boxed answer. */
  get newestOrNaN(): number {
    return (this.fixedTimes ?? this.index.times).newest;
  }

  /**
   * Deletes every row older than `span` seconds before the newest (a retention after a message):
   * evictBefore(newestTimestamp - span) when any row is that old. No rows: NaN, and nothing to do.
   */
  evictOlderThan(span: number): number {
    const times = this.fixedTimes ?? this.index.times;
    const top = times.newest;
    if (!(times.oldest < top - span)) return 0;
    return this.evictBefore(top - span);
  }

  /**
   * Rows in the range, ordered by (timestamp, key) ascending or both descending, from the
   * `skip`-th on. Skipped timestamps are counted, not sorted or read: a deep page costs one
   * step per timestamp before it rather than per row. The keys of a timestamp holding many
   * rows are sorted once and then kept in order (sorted-keys.ts), so reading its first rows
   * again costs the page, not a sort. `tiesByValue`: rows of one timestamp come in ascending
   * order of the values their keys were made from (escapes undone, sorted-keys.ts), whatever
   * `order` (the order a plugin's view gives them when it sorts by its key column).
   */
  *scan(range: RowRange, skip = 0, tiesByValue = false): Generator<R> {
    const [lo, hi] = this.indexRange(range);
    const asc = range.order === 'asc';
    const keysAsc = asc || tiesByValue;
    const list = this.index.times;
    let left = skip;
    for (let i = asc ? lo : hi - 1; asc ? i < hi : i >= lo; i += asc ? 1 : -1) {
      const ts = list.slot(i);
      if (ts === undefined) continue;
      if (left > 0) {
        const n = this.index.countAt(ts);
        if (n <= left) {
          left -= n;
          continue;
        }
        yield* this.index.rowsAt(ts, keysAsc, left, tiesByValue);
        left = 0;
        continue;
      }
      yield* this.index.rowsAt(ts, keysAsc, 0, tiesByValue);
    }
  }

  count(range: Omit<RowRange, 'order'>): number {
    const [lo, hi] = this.indexRange({ ...range, order: 'asc' });
    const list = this.index.times;
    let n = 0;
    for (let i = lo; i < hi; i++) {
      const ts = list.slot(i);
      if (ts !== undefined) n += this.index.countAt(ts);
    }
    return n;
  }

  /** Deletes every row older than `cutoff` (recorded as changes, so snapshots drop them too). */
  evictBefore(cutoff: number): number {
    let evicted = 0;
    const list = this.index.times;
    // Whole groups from the oldest end; a group that deletes nothing would be a bug, not a loop.
    while (list.length > 0 && (list.first as number) < cutoff) {
      const n = this.evictGroup(list.first as number);
      if (n === 0) break;
      evicted += n;
    }
    return evicted;
  }

  /**
   * Deletes the `n` oldest rows, recorded as changes like retention: whole buckets oldest first,
   * and of the bucket that goes only in part, its last keys in key order. Not the order the rows
   * were written in: a restore loads them in key order, so a replica that had restarted kept
   * other rows of that bucket than one that had not (the key cap and the key budget cut here).
   * The last, not the first: a large bucket's kept key order loses its end in O(1), its start
   * in O(keys) (sorted-keys.ts), and at the cap this runs for every message.
   */
  evictOldest(n: number): number {
    let evicted = 0;
    const list = this.index.times;
    while (evicted < n && list.length > 0) {
      const ts = list.first as number;
      const left = n - evicted;
      let gone = 0;
      if (this.index.countAt(ts) <= left) gone = this.evictGroup(ts);
      else for (const key of this.index.lastKeysAt(ts, left)) if (this.delete(key)) gone++;
      // The index drops a timestamp with its last row; an empty one would be a bug, not a loop.
      if (gone === 0) break;
      evicted += gone;
    }
    return evicted;
  }

  /** Deletes every row newer than `cutoff`: state an older version let a message date ahead of the clock. */
  evictAfter(cutoff: number): number {
    let evicted = 0;
    const list = this.index.times;
    while (list.length > 0 && (list.last as number) > cutoff) {
      const n = this.evictGroup(list.last as number);
      if (n === 0) break;
      evicted += n;
    }
    return evicted;
  }

  /**
   * Deletes every row at `ts`: the group leaves the table and the index in one step, and each
   * key is then recorded as a delete() would record it (undo, cut, digest, change log), in the
   * order keysAt() gives, without looking each key up again.
   */
  private evictGroup(ts: number): number {
    if (this.grouped !== null) {
      const group = this.grouped.takeGroup(ts);
      if (group !== null) {
        // Logged split, as a write is (logWrite): the key made here for the undo log, the cut
        // and the digest is garbage once they are done with it, and when none of them wants it
        // (retention through replay) it is not made at all: String(ts), its head and a key per row.
        const head = this.removalNeedsKey ? this.grouped.headOf(group) : null;
        if (group.rest0 !== null) this.evictedRow(group.ts, head, group.rest0, group.row0 as R);
        if (group.rows !== null) for (const [rest, row] of group.rows) this.evictedRow(group.ts, head, rest, row);
        return group.regularSize;
      }
    } else if (this.numbered !== null) {
      const row = this.numbered.takeAt(ts);
      if (row === undefined) return 0;
      if (row !== null) {
        // Logged as the number, as a write is (logWrite); the key made only when something wants it.
        if (this.removalNeedsKey) this.recordRemoval(String(ts), row);
        else this.recordRemovalUnkeyed(row);
        this.logNumber(ts);
        return 1;
      }
    } else if (this.flat !== null) {
      const keys = this.flat.takeGroup(ts);
      if (typeof keys === 'string') {
        this.deleteIndexed(keys);
        return 1;
      }
      if (keys !== null) {
        for (const key of keys) this.deleteIndexed(key);
        return keys.size;
      }
    }
    // Odd keys (restored state only): one by one; delete() unindexes each and drops the timestamp with its last row.
    let n = 0;
    for (const key of [...this.index.keysAt(ts)]) {
      this.delete(key);
      n++;
    }
    return n;
  }

  /** `head`: the group's key head, or null when no key is wanted (removalNeedsKey). */
  private evictedRow(ts: number, head: string | null, rest: string, row: R): void {
    if (head === null) this.recordRemovalUnkeyed(row);
    else this.recordRemoval(head + rest, row);
    this.logSplit(ts, rest);
  }

  /** Deletes the row of a key the flat index has already let go of. */
  private deleteIndexed(key: string): void {
    const previous = this.map.get(key) as R;
    this.map.delete(key);
    this.recordDeleted(key, previous);
  }

  protected override afterWrite(key: string, previous: R | undefined, next: R | undefined): void {
    if (this.flat !== null) this.flat.written(key, previous, next);
  }

  protected override afterLoadAll(keys: readonly string[], rows: readonly R[]): void {
    if (this.flat !== null) this.flat.fill(keys, rows);
  }

  private indexRange(range: RowRange): [number, number] {
    const list = this.index.times;
    const lo = range.start === undefined ? 0 : list.lowerBound(range.start);
    const hi = range.stop === undefined ? list.slots : list.upperBound(range.stop);
    return [lo, Math.max(lo, hi)];
  }
}
