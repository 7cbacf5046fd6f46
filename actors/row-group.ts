import { SORTED_KEYS_MIN, SortedKeys, compareKeyValues, compareKeys } from './sorted-keys.js';

interface RareParts<R> {
  odd: Map<string, R> | null;
  sorted: SortedKeys | null;
  sortedByValue: SortedKeys | null;
}

/** A group's further rows, with what few groups hold (odd keys, kept key orders) on the same object. */
class MoreRows<R> extends Map<string, R> {
  rare: RareParts<R> | null = null;
}

/**
 * The rows of one timestamp. The first regular row is held in the group itself and a Map is
 * made only for a second one: a 1-second bucket often holds a single row, and the Map would
 * be most of what opening (and later evicting) that bucket allocates. Regular rows iterate
 * inline row first, then the Map: insertion order, since the inline slot is refilled only
 * while the Map is empty.
 *
 * A 1-second plugin opens a group per message, which the scavenges copy twice (into the
 * survivor space, then into the old generation): the group holds only what one row needs, 64
 * bytes. What few groups hold (odd keys, kept key orders) hangs off the Map of further rows, an
 * empty one if need be, and the key's head is GroupedTable.headOf's (80 bytes with both here).
 */
export class Group<R> {
  /** Rest (key after `<timestamp>U+001F`) and row of the inline entry; null: the slot is free. */
  rest0: string | null = null;
  row0: R | undefined = undefined;
  /** Further regular rows by rest, once there is more than one (or an odd key or a kept order came). */
  rows: MoreRows<R> | null = null;
  /** The group's number in the order groups were added (group-index.ts). */
  seq = 0;

  constructor(readonly ts: number) {}

  /** Full key → row, for keys not of the form `<String(timestamp)>U+001F…` (only loaded state can hold them). */
  get odd(): Map<string, R> | null {
    return this.rows?.rare?.odd ?? null;
  }

  set odd(map: Map<string, R> | null) {
    if (map !== null || this.rows?.rare != null) this.rareParts().odd = map;
  }

  /** The regular rests in key order and in value order, each kept once a large group was read so (sorted-keys.ts). */
  get sorted(): SortedKeys | null {
    return this.rows?.rare?.sorted ?? null;
  }

  set sorted(keys: SortedKeys | null) {
    if (keys !== null || this.rows?.rare != null) this.rareParts().sorted = keys;
  }

  get sortedByValue(): SortedKeys | null {
    return this.rows?.rare?.sortedByValue ?? null;
  }

  set sortedByValue(keys: SortedKeys | null) {
    if (keys !== null || this.rows?.rare != null) this.rareParts().sortedByValue = keys;
  }

  private rareParts(): RareParts<R> {
    if (this.rows === null) this.rows = new MoreRows();
    const rows = this.rows;
    if (rows.rare === null) rows.rare = { odd: null, sorted: null, sortedByValue: null };
    return rows.rare;
  }

  get regularSize(): number {
    return (this.rest0 === null ? 0 : 1) + (this.rows === null ? 0 : this.rows.size);
  }

  get size(): number {
    return this.regularSize + (this.odd === null ? 0 : this.odd.size);
  }

  get(rest: string): R | undefined {
    if (rest === this.rest0) return this.row0;
    return this.rows === null ? undefined : this.rows.get(rest);
  }

  /** Returns whether the rest is new to the group. */
  set(rest: string, row: R): boolean {
    if (rest === this.rest0) {
      this.row0 = row;
      return false;
    }
    // The inline slot is refilled only while the Map is empty, which keeps insertion order.
    if (this.rest0 === null && (this.rows === null || this.rows.size === 0)) {
      this.rest0 = rest;
      this.row0 = row;
      this.keyAdded(rest);
      return true;
    }
    if (this.rows === null) {
      this.rows = new MoreRows();
      this.rows.set(rest, row);
      this.keyAdded(rest);
      return true;
    }
    const before = this.rows.size;
    this.rows.set(rest, row);
    if (this.rows.size === before) return false;
    this.keyAdded(rest);
    return true;
  }

  delete(rest: string): boolean {
    if (rest === this.rest0) {
      this.rest0 = null;
      this.row0 = undefined;
      this.keyRemoved(rest);
      return true;
    }
    if (this.rows?.delete(rest) !== true) return false;
    this.keyRemoved(rest);
    return true;
  }

  private keyAdded(rest: string): void {
    const rare = this.rows?.rare;
    if (rare == null) return;
    rare.sorted?.add(rest);
    rare.sortedByValue?.add(rest);
  }

  private keyRemoved(rest: string): void {
    const rare = this.rows?.rare;
    if (rare == null) return;
    rare.sorted?.remove(rest);
    rare.sortedByValue?.remove(rest);
  }

  /** Regular rows' rests in insertion order; deleting while iterating is safe. */
  *rests(): IterableIterator<string> {
    if (this.rest0 !== null) yield this.rest0;
    if (this.rows !== null) yield* this.rows.keys();
  }

  *regularRows(): IterableIterator<R> {
    if (this.rest0 !== null) yield this.row0 as R;
    if (this.rows !== null) yield* this.rows.values();
  }
}

/** A regular group's rests in order: kept between reads for a large group, sorted each time for a small one. */
export function sortedRests<R>(g: Group<R>, byValue: boolean): readonly string[] {
  let kept = byValue ? g.sortedByValue : g.sorted;
  if (kept === null) {
    if (g.regularSize < SORTED_KEYS_MIN) return [...g.rests()].sort(byValue ? compareKeyValues : compareKeys);
    kept = new SortedKeys(byValue, g.rests());
    if (byValue) g.sortedByValue = kept;
    else g.sorted = kept;
  }
  return kept.keys(() => g.rests());
}

/** Rows (with their full keys, in key order) in the order of their rest column's value, the key breaking ties. */
export function byRestValue<R>(rows: R[], keys: readonly string[], column: string | null): R[] {
  if (column === null) return rows;
  const textOf = (row: R) => {
    const v = (row as unknown as Record<string, unknown>)[column];
    return v === undefined || v === null ? '' : String(v);
  };
  return rows
    .map((row, i) => ({ row, value: textOf(row), key: keys[i] as string }))
    .sort((a, b) => compareKeys(a.value, b.value) || compareKeys(a.key, b.key))
    .map((e) => e.row);
}
