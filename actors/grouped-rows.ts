import { type Group, byRestValue, sortedRests } from './row-group.js';
import { compareKeys } from './sorted-keys.js';
import { GroupedTable, type Stamped } from './grouped-table.js';

/**
 * Rows of a plugin whose key columns start with `timestamp`, grouped by timestamp
 * (grouped-table.ts: the Table a KeyedStore keeps its entries in), with what RowStore's time
 * index reads of the groups: counts, keys and rows at one timestamp, in key order and lazily,
 * and a whole group taken at once for an eviction.
 */
export class GroupedRows<R extends Stamped> extends GroupedTable<R> {
  countAt(ts: number): number {
    return this.groups.get(ts)?.size ?? 0;
  }

  /** Full keys of the rows at `ts`, in insertion order; safe to delete from while iterating. */
  *keysAt(ts: number): IterableIterator<string> {
    const g = this.groups.get(ts);
    if (g !== undefined) yield* this.keysOf(g);
  }

  /** The last `n` full keys at `ts` in key order (a regular group's head is common to its keys: its rests' order). */
  lastKeysAt(ts: number, n: number): string[] {
    const g = this.groups.get(ts);
    if (g === undefined) return [];
    if (g.odd !== null) return [...this.keysOf(g)].sort(compareKeys).slice(-n);
    const head = this.headOf(g);
    return sortedRests(g, false)
      .slice(-n)
      .map((rest) => head + rest);
  }

  /**
   * Rows at `ts` from the `from`-th on, in key order ascending or descending, read lazily (a
   * page takes only its rows). `byValue`: in the order of the values the keys were made from
   * (sorted-keys.ts, compareKeyValues) instead.
   */
  *rowsAt(ts: number, asc: boolean, from: number, byValue: boolean): Generator<R> {
    const g = this.groups.get(ts);
    if (g === undefined) return;
    if (g.odd !== null) {
      // Keys only loaded state holds: sorted whole, as they come.
      const keys = [...this.keysOf(g)];
      let rows = keys.sort(compareKeys).map((key) => this.get(key) as R);
      if (byValue) rows = byRestValue(rows, keys, this.restColumn);
      if (!asc) rows.reverse();
      for (let j = from; j < rows.length; j++) yield rows[j] as R;
      return;
    }
    const rests = sortedRests(g, byValue);
    const n = rests.length;
    for (let j = from; j < n; j++) {
      const row = g.get(rests[asc ? j : n - 1 - j] as string);
      if (row !== undefined) yield row;
    }
  }

  /**
   * Removes the whole group at `ts` at once and returns it (its rows by rest; full keys are
   * `head + rest`), or null when there is none or it holds odd keys (delete those one by one).
   */
  takeGroup(ts: number): Group<R> | null {
    const g = this.groups.get(ts);
    if (g === undefined || g.odd !== null) return null;
    this.groups.remove(g);
    this.count -= g.regularSize;
    return g;
  }
}
