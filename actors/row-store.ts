import type { ChangeLog } from './change-log.js';
import { GroupedRows } from './grouped-rows.js';
import { SplitKeyStore } from './split-key-writes.js';
import { RowKeyMismatchError, keyPart, rowKeyOf } from './row-key.js';
import type { SortedTimes } from './sorted-times.js';
import { TimestampIndex } from './timestamp-index.js';

/** Every row a plugin exposes has a float UNIX timestamp plus its own columns. */
export interface Row {
  readonly timestamp: number;
}

export interface RowRange {
  /** Inclusive lower bound on `timestamp`. */
  readonly start?: number | undefined;
  /** Inclusive upper bound on `timestamp`. */
  readonly stop?: number | undefined;
  readonly order: 'asc' | 'desc';
}

/** What scans, counts and evictions read: GroupedRows, or a TimestampIndex beside a Map. */
interface TimeIndex<R> {
  readonly times: SortedTimes;
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
 * grouped by timestamp without their key strings (grouped-rows.ts); otherwise in a Map with
 * the keys per timestamp beside it (timestamp-index.ts).
 */
export class RowStore<R extends Row = Row> extends SplitKeyStore<R> {
  private readonly index: TimeIndex<R>;
  private readonly flat: TimestampIndex<R> | null;
  private readonly grouped: GroupedRows<R> | null;
  /** With grouped rows and two key columns: the second, whose value is the key's rest. */
  private readonly restColumn: string | null;

  /** `keyColumns`: the plugin's `key`; every row is stored under the key they give (see row-key.ts). */
  constructor(private readonly keyColumns: readonly string[] = []) {
    const restColumn = keyColumns.length === 2 ? (keyColumns[1] as string) : null;
    // With `timestamp` alone a flat Map does as well: one row per timestamp, and String(bucket)
    // comes from V8's number-string cache, so the key is already hashed.
    const grouped = keyColumns.length >= 2 && keyColumns[0] === 'timestamp' ? new GroupedRows<R>(restColumn) : null;
    super(grouped ?? new Map<string, R>());
    this.restColumn = grouped === null ? null : restColumn;
    this.grouped = grouped;
    this.flat = grouped === null ? new TimestampIndex<R>((key) => this.map.get(key)) : null;
    this.index = grouped ?? (this.flat as TimestampIndex<R>);
  }

  /** The storage key of a row, or of the key columns' values: `rows.get(rows.keyOf({ timestamp: bucket, user }))`. */
  keyOf(fields: Readonly<Record<string, unknown>>): string {
    return rowKeyOf(this.keyColumns, fields);
  }

  /**
   * The row stored under the key `fields`' key columns give: `rows.get(rows.keyOf(fields))`,
   * without building the key when the rows are grouped by timestamp (a counter's read per message).
   */
  lookup(fields: Readonly<Record<string, unknown>>): R | undefined {
    const grouped = this.grouped;
    const ts = fields['timestamp'];
    if (
      grouped !== null &&
      this.restColumn !== null &&
      typeof ts === 'number' &&
      !Number.isNaN(ts) &&
      grouped.allRegular
    )
      return grouped.regularRow(ts, keyPart(fields[this.restColumn]));
    return this.get(rowKeyOf(this.keyColumns, fields));
  }

  /** Stores a row under the key its key columns give; returns that key. */
  put(row: R): string {
    const grouped = this.grouped;
    const ts: unknown = row.timestamp;
    // Grouped by timestamp with one more key column: the key is made split already (keyFor).
    const key =
      grouped !== null && this.restColumn !== null && typeof ts === 'number' && !Number.isNaN(ts)
        ? grouped.keyFor(ts, keyPart((row as unknown as Record<string, unknown>)[this.restColumn]))
        : rowKeyOf(this.keyColumns, row as unknown as Record<string, unknown>);
    super.set(key, row);
    return key;
  }

  /**
   * put() without giving the key back, so none need be made: rows grouped by timestamp are then
   * stored and logged by (timestamp, rest) while nothing wants the key as a string (replay: no
   * snapshot cut, the digest deferred). A replayed message opening a bucket built `String(ts)`,
   * the key's head and the key, ~100 bytes, only to drop them; a write to a bucket, the key.
   */
  write(row: R): void {
    const grouped = this.grouped;
    const ts: unknown = row.timestamp;
    if (grouped === null || this.restColumn === null || typeof ts !== 'number' || Number.isNaN(ts)) {
      this.put(row);
      return;
    }
    const rest = keyPart((row as unknown as Record<string, unknown>)[this.restColumn]);
    // At most 25 units of `String(ts)` and separator, 575 of rest: the 600 setOver() lets by uncounted.
    if (!this.splitWrites || !grouped.allRegular || rest.length > 575) {
      super.set(grouped.keyFor(ts, rest), row);
      return;
    }
    this.checkSplitStorable(ts, rest, row);
    const previous = grouped.regularRow(ts, rest);
    grouped.setRegular(ts, rest, row);
    this.recordSplitWrite(ts, rest, previous, row);
  }

  /** Like put(), with the key spelled out: it must be the one the key columns give, else the write throws. */
  override set(key: string, row: R): void {
    if (this.keyColumns.length > 0 && !this.isKeyOf(key, row)) {
      const derived = rowKeyOf(this.keyColumns, row as unknown as Record<string, unknown>);
      if (derived !== key) {
        throw new RowKeyMismatchError(
          `row key ${JSON.stringify(key.slice(0, 120))} is not what the key columns [${this.keyColumns.join(', ')}] give (${JSON.stringify(derived.slice(0, 120))}); HTTP and WebSocket would disagree about this row. Use rows.put(row), or rows.keyOf(...) to build the key`,
        );
      }
    }
    super.set(key, row);
  }

  get newestTimestamp(): number | undefined {
    return this.index.times.last;
  }

  get oldestTimestamp(): number | undefined {
    return this.index.times.first;
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

  /**
   * A grouped row's write goes into the change log as (timestamp, rest): the key string made
   * for the write is then garbage at once instead of living as long as the log holds it.
   */
  protected override logWrite(log: ChangeLog, container: number, key: string): void {
    const grouped = this.grouped;
    if (grouped?.isLastSplit(key)) log.recordSplit(container, grouped.lastSplitTs, grouped.lastSplitRest);
    else log.record(container, key);
  }

  protected override afterWrite(key: string, previous: R | undefined, next: R | undefined): void {
    if (this.flat !== null) this.flat.written(key, previous, next);
  }

  protected override afterLoadAll(keys: readonly string[], rows: readonly R[]): void {
    if (this.flat !== null) this.flat.fill(keys, rows);
  }

  /** Whether `key` is the one the key columns give for `row`, without building it (the common cases). */
  private isKeyOf(key: string, row: R): boolean {
    const fields = row as unknown as Record<string, unknown>;
    // String(number) is V8's cached string of that number: usually the very string the plugin built the key from.
    if (this.restColumn === null) {
      if (this.keyColumns.length !== 1) return false;
      const value = fields[this.keyColumns[0] as string];
      return typeof value === 'number' && String(value) === key;
    }
    if (typeof row.timestamp !== 'number') return false;
    const rest = keyPart(fields[this.restColumn]);
    const head = key.length - rest.length - 1;
    if (head <= 0 || key.charCodeAt(head) !== 0x1f || !key.endsWith(rest)) return false;
    const ts = String(row.timestamp);
    return ts.length === head && key.startsWith(ts);
  }

  private indexRange(range: RowRange): [number, number] {
    const list = this.index.times;
    const lo = range.start === undefined ? 0 : list.lowerBound(range.start);
    const hi = range.stop === undefined ? list.slots : list.upperBound(range.stop);
    return [lo, Math.max(lo, hi)];
  }
}
