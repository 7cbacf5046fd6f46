/** RowStore's rows by time: the timestamp index, range scans and counts (evictions by age or number: row-evictions.ts), apart from the rows by key (row-store.ts), which is what a write derives and checks. */
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
  protected readonly fixedTimes: SortedTimes<unknown> | null;

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
