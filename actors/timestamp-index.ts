import { SORTED_KEYS_MIN, SortedKeys, compareKeyValues, compareKeys } from './sorted-keys.js';
import { SortedTimes } from './sorted-times.js';

/**
 * The timestamp index of a RowStore whose rows live in a plain Map (key columns that do not
 * start with `timestamp`, and expiring stores): the keys per distinct timestamp. A timestamp
 * with one key holds that key itself (key `timestamp` alone: one row per timestamp, always),
 * a Set only from the second on, so a new bucket costs no Set.
 * GroupedRows answers the same questions from its own groups.
 */
export class TimestampIndex<R extends { readonly timestamp: number }> {
  private readonly byTimestamp = new Map<number, string | Set<string>>();
  /** The keys of large timestamps in key order and in value order, each kept once read so (sorted-keys.ts). */
  private readonly sorted = new Map<number, SortedKeys>();
  private readonly sortedByValue = new Map<number, SortedKeys>();
  /** Distinct timestamps, ascending. */
  readonly times = new SortedTimes();

  constructor(private readonly rowOf: (key: string) => R | undefined) {}

  countAt(ts: number): number {
    const group = this.byTimestamp.get(ts);
    return group === undefined ? 0 : typeof group === 'string' ? 1 : group.size;
  }

  /** Keys at `ts` in insertion order; safe to delete from while iterating. */
  *keysAt(ts: number): IterableIterator<string> {
    const group = this.byTimestamp.get(ts);
    if (typeof group === 'string') yield group;
    else if (group !== undefined) yield* group;
  }

  /** The last `n` keys at `ts` in key order. */
  lastKeysAt(ts: number, n: number): string[] {
    return this.sortedKeysAt(ts, false).slice(-n);
  }

  /**
   * Rows at `ts` from the `from`-th on, in key order ascending or descending, read lazily;
   * `byValue`: in the order of the values the keys were made from (sorted-keys.ts).
   */
  *rowsAt(ts: number, asc: boolean, from: number, byValue: boolean): Generator<R> {
    const keys = this.sortedKeysAt(ts, byValue);
    const n = keys.length;
    for (let j = from; j < n; j++) {
      const row = this.rowOf(keys[asc ? j : n - 1 - j] as string);
      if (row !== undefined) yield row;
    }
  }

  /** Removes every key at `ts` from the index at once and returns it or them (the caller deletes their rows). */
  takeGroup(ts: number): string | ReadonlySet<string> | null {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return null;
    this.byTimestamp.delete(ts);
    this.times.remove(ts);
    this.forgetSorted(ts);
    return group;
  }

  /**
   * Indexes rows written into an empty index, keys given once each (a restore's fill): the
   * same index as written() of each in turn, keys in the same order, in one pass. A Set made
   * from a timestamp's whole array of keys, and the timestamps sorted once, cost under half of
   * growing each Set key by key and finding each new timestamp's place (165 → 75 ms for 500 k
   * rows over 3 000 timestamps). Rows without a finite timestamp (never restored: restore
   * refuses them) are indexed one by one.
   */
  fill(keys: readonly string[], rows: readonly R[]): void {
    let usable = this.byTimestamp.size === 0;
    for (let i = 0; usable && i < rows.length; i++) usable = Number.isFinite((rows[i] as R).timestamp);
    if (!usable) {
      for (let i = 0; i < keys.length; i++) this.written(keys[i] as string, undefined, rows[i]);
      return;
    }
    const groups = new Map<number, string[]>();
    for (let i = 0; i < keys.length; i++) {
      const ts = (rows[i] as R).timestamp;
      const group = groups.get(ts);
      if (group === undefined) groups.set(ts, [keys[i] as string]);
      else group.push(keys[i] as string);
    }
    const times: number[] = [];
    for (const [ts, group] of groups) {
      times.push(ts);
      this.byTimestamp.set(ts, group.length === 1 ? (group[0] as string) : new Set(group));
    }
    this.times.fill(times.sort((a, b) => a - b));
  }

  /** Keeps the index in step with a write (next undefined: deleted). */
  written(key: string, previous: R | undefined, next: R | undefined): void {
    if (previous !== undefined && previous.timestamp === next?.timestamp) return;
    if (previous !== undefined) this.unindex(key, previous.timestamp);
    if (next !== undefined) this.index(key, next.timestamp);
  }

  private index(key: string, ts: number): void {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) {
      this.byTimestamp.set(ts, key);
      this.times.insert(ts);
    } else if (typeof group !== 'string') {
      const before = group.size;
      group.add(key);
      if (group.size !== before && (this.sorted.size > 0 || this.sortedByValue.size > 0)) {
        this.sorted.get(ts)?.add(key);
        this.sortedByValue.get(ts)?.add(key);
      }
    } else if (group !== key) this.byTimestamp.set(ts, new Set([group, key]));
  }

  private unindex(key: string, ts: number): void {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return;
    if (typeof group === 'string') {
      if (group !== key) return;
    } else {
      if (group.delete(key) && (this.sorted.size > 0 || this.sortedByValue.size > 0)) {
        this.sorted.get(ts)?.remove(key);
        this.sortedByValue.get(ts)?.remove(key);
      }
      if (group.size > 0) return;
    }
    this.byTimestamp.delete(ts);
    this.times.remove(ts);
    this.forgetSorted(ts);
  }

  private forgetSorted(ts: number): void {
    if (this.sorted.size > 0) this.sorted.delete(ts);
    if (this.sortedByValue.size > 0) this.sortedByValue.delete(ts);
  }

  /** The keys at `ts` in order: kept between reads for a large timestamp, sorted each time for a small one. */
  private sortedKeysAt(ts: number, byValue: boolean): readonly string[] {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return [];
    if (typeof group === 'string') return [group];
    const cache = byValue ? this.sortedByValue : this.sorted;
    const kept = cache.get(ts);
    if (kept !== undefined) return kept.keys(() => group);
    if (group.size < SORTED_KEYS_MIN) return [...group].sort(byValue ? compareKeyValues : compareKeys);
    const made = new SortedKeys(byValue, group);
    cache.set(ts, made);
    return made.keys(() => group);
  }
}
