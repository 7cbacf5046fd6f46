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

  sortedAt(ts: number, asc: boolean): R[] {
    const keys = [...this.keysAt(ts)].sort();
    if (!asc) keys.reverse();
    const out: R[] = [];
    for (const key of keys) {
      const row = this.rowOf(key);
      if (row !== undefined) out.push(row);
    }
    return out;
  }

  /** Removes every key at `ts` from the index at once and returns it or them (the caller deletes their rows). */
  takeGroup(ts: number): string | ReadonlySet<string> | null {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return null;
    this.byTimestamp.delete(ts);
    this.times.remove(ts);
    return group;
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
    } else if (typeof group !== 'string') group.add(key);
    else if (group !== key) this.byTimestamp.set(ts, new Set([group, key]));
  }

  private unindex(key: string, ts: number): void {
    const group = this.byTimestamp.get(ts);
    if (group === undefined) return;
    if (typeof group === 'string') {
      if (group !== key) return;
    } else {
      group.delete(key);
      if (group.size > 0) return;
    }
    this.byTimestamp.delete(ts);
    this.times.remove(ts);
  }
}
