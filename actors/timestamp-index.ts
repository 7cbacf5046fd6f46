import { SortedTimes } from './sorted-times.js';

/**
 * The timestamp index of a RowStore whose rows live in a plain Map (key columns that do not
 * start with `timestamp`, and expiring stores): a Set of keys per distinct timestamp.
 * GroupedRows answers the same questions from its own groups.
 */
export class TimestampIndex<R extends { readonly timestamp: number }> {
  private readonly byTimestamp = new Map<number, Set<string>>();
  /** Distinct timestamps, ascending. */
  readonly times = new SortedTimes();

  constructor(private readonly rowOf: (key: string) => R | undefined) {}

  countAt(ts: number): number {
    return this.byTimestamp.get(ts)?.size ?? 0;
  }

  /** Keys at `ts` in insertion order; safe to delete from while iterating. */
  *keysAt(ts: number): IterableIterator<string> {
    const group = this.byTimestamp.get(ts);
    if (group !== undefined) yield* group;
  }

  sortedAt(ts: number, asc: boolean): R[] {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return [];
    const keys = [...group].sort();
    if (!asc) keys.reverse();
    const out: R[] = [];
    for (const key of keys) {
      const row = this.rowOf(key);
      if (row !== undefined) out.push(row);
    }
    return out;
  }

  /** Keeps the index in step with a write (next undefined: deleted). */
  written(key: string, previous: R | undefined, next: R | undefined): void {
    if (previous !== undefined && previous.timestamp === next?.timestamp) return;
    if (previous !== undefined) this.unindex(key, previous.timestamp);
    if (next !== undefined) this.index(key, next.timestamp);
  }

  private index(key: string, ts: number): void {
    let group = this.byTimestamp.get(ts);
    if (!group) {
      group = new Set();
      this.byTimestamp.set(ts, group);
      this.times.insert(ts);
    }
    group.add(key);
  }

  private unindex(key: string, ts: number): void {
    const group = this.byTimestamp.get(ts);
    if (!group) return;
    group.delete(key);
    if (group.size > 0) return;
    this.byTimestamp.delete(ts);
    this.times.remove(ts);
  }
}
