import { KeyedStore } from './keyed-store.js';
import { RowKeyMismatchError, rowKeyOf } from './row-key.js';

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

/**
 * The rows a plugin serves, keyed by the plugin's row key and indexed by timestamp, so a
 * page of a time range costs O(log buckets + page) and old buckets are evicted in order
 * without a timer per bucket.
 */
export class RowStore<R extends Row = Row> extends KeyedStore<R> {
  private readonly byTimestamp = new Map<number, Set<string>>();
  /** Distinct timestamps, ascending. New buckets are nearly always appended at the end. */
  private readonly timestamps: number[] = [];

  /** `keyColumns`: the plugin's `key`; every row is stored under the key they give (see row-key.ts). */
  constructor(private readonly keyColumns: readonly string[] = []) {
    super();
  }

  /** The storage key of a row, or of the key columns' values: `rows.get(rows.keyOf({ timestamp: bucket, user }))`. */
  keyOf(fields: Readonly<Record<string, unknown>>): string {
    return rowKeyOf(this.keyColumns, fields);
  }

  /** Stores a row under the key its key columns give; returns that key. */
  put(row: R): string {
    const key = rowKeyOf(this.keyColumns, row as unknown as Record<string, unknown>);
    super.set(key, row);
    return key;
  }

  /** Like put(), with the key spelled out: it must be the one the key columns give, else the write throws. */
  override set(key: string, row: R): void {
    if (this.keyColumns.length > 0) {
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
    return this.timestamps[this.timestamps.length - 1];
  }

  get oldestTimestamp(): number | undefined {
    return this.timestamps[0];
  }

  /** Rows in the range, ordered by (timestamp, key) ascending or both descending. */
  *scan(range: RowRange): Generator<R> {
    const [lo, hi] = this.indexRange(range);
    const asc = range.order === 'asc';
    for (let i = asc ? lo : hi - 1; asc ? i < hi : i >= lo; i += asc ? 1 : -1) {
      const group = this.byTimestamp.get(this.timestamps[i] as number);
      if (!group) continue;
      const keys = [...group].sort();
      if (!asc) keys.reverse();
      for (const key of keys) {
        const row = this.map.get(key);
        if (row !== undefined) yield row;
      }
    }
  }

  count(range: Omit<RowRange, 'order'>): number {
    const [lo, hi] = this.indexRange({ ...range, order: 'asc' });
    let n = 0;
    for (let i = lo; i < hi; i++) n += this.byTimestamp.get(this.timestamps[i] as number)?.size ?? 0;
    return n;
  }

  /** Deletes every row older than `cutoff` (recorded as changes, so snapshots drop them too). */
  evictBefore(cutoff: number): number {
    return this.evictEdge('oldest', (ts) => ts < cutoff);
  }

  /** Deletes the `n` oldest rows (oldest bucket first, in insertion order within it), recorded as changes like retention. */
  evictOldest(n: number): number {
    let evicted = 0;
    while (evicted < n && this.timestamps.length > 0) {
      const group = this.byTimestamp.get(this.timestamps[0] as number);
      if (!group || group.size === 0) {
        this.byTimestamp.delete(this.timestamps[0] as number);
        this.timestamps.shift();
        continue;
      }
      // Deleting while iterating a Set is safe; no copy, so a cap hit costs O(evicted), not O(group).
      for (const key of group) {
        if (evicted >= n) break;
        this.delete(key);
        evicted++;
      }
    }
    return evicted;
  }

  /** Deletes every row newer than `cutoff`: state an older version let a message date ahead of the clock. */
  evictAfter(cutoff: number): number {
    return this.evictEdge('newest', (ts) => ts > cutoff);
  }

  /** Deletes whole timestamp groups from one end while `beyond` holds for the edge timestamp. */
  private evictEdge(edge: 'oldest' | 'newest', beyond: (ts: number) => boolean): number {
    let evicted = 0;
    while (this.timestamps.length > 0) {
      const at = edge === 'oldest' ? 0 : this.timestamps.length - 1;
      const ts = this.timestamps[at] as number;
      if (!beyond(ts)) break;
      const group = this.byTimestamp.get(ts);
      if (!group || group.size === 0) {
        this.byTimestamp.delete(ts);
        this.timestamps.splice(at, 1);
        continue;
      }
      // delete() unindexes each key and drops the group once it is empty.
      for (const key of [...group]) {
        this.delete(key);
        evicted++;
      }
    }
    return evicted;
  }

  protected override afterWrite(key: string, previous: R | undefined, next: R | undefined): void {
    if (previous !== undefined && previous.timestamp === next?.timestamp) return;
    if (previous !== undefined) this.unindex(key, previous.timestamp);
    if (next !== undefined) this.index(key, next.timestamp);
  }

  private index(key: string, ts: number): void {
    let group = this.byTimestamp.get(ts);
    if (!group) {
      group = new Set();
      this.byTimestamp.set(ts, group);
      const at = this.lowerBound(ts);
      if (at === this.timestamps.length) this.timestamps.push(ts);
      else this.timestamps.splice(at, 0, ts);
    }
    group.add(key);
  }

  private unindex(key: string, ts: number): void {
    const group = this.byTimestamp.get(ts);
    if (!group) return;
    group.delete(key);
    if (group.size > 0) return;
    this.byTimestamp.delete(ts);
    const at = this.lowerBound(ts);
    if (this.timestamps[at] === ts) this.timestamps.splice(at, 1);
  }

  private indexRange(range: RowRange): [number, number] {
    const lo = range.start === undefined ? 0 : this.lowerBound(range.start);
    const hi = range.stop === undefined ? this.timestamps.length : this.upperBound(range.stop);
    return [lo, Math.max(lo, hi)];
  }

  /** First index whose timestamp is >= ts. */
  private lowerBound(ts: number): number {
    let lo = 0;
    let hi = this.timestamps.length;
    if (hi > 0 && (this.timestamps[hi - 1] as number) < ts) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.timestamps[mid] as number) < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose timestamp is > ts. */
  private upperBound(ts: number): number {
    let lo = 0;
    let hi = this.timestamps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.timestamps[mid] as number) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
