import { type EntryWalk, GroupsWalk } from './entry-walk.js';
import type { Table } from './store-table.js';
import { Group } from './row-group.js';
import { SEP } from './row-key.js';
import { SORTED_KEYS_MIN, SortedKeys, compareKeyValues, compareKeys } from './sorted-keys.js';
import { SortedTimes } from './sorted-times.js';

/** What RowStore needs of a row here: its timestamp (row-store.ts defines Row; imported from there it would be a cycle). */
interface Stamped {
  readonly timestamp: number;
}

/**
 * Rows of a plugin whose key columns start with `timestamp` (most: counters per bucket and
 * value), stored as one Map per timestamp keyed by the rest of the row key. The full key
 * string is never kept: it is `<timestamp>U+001F<rest>`, and with one further key column the
 * rest is that column's own string, which the row already holds. A key therefore costs its
 * row and one Map entry, and the groups are the timestamp index (no Set per timestamp).
 *
 * Implements the Table a KeyedStore keeps its entries in, plus what RowStore's time index asks.
 */
export class GroupedRows<R extends Stamped> implements Table<R> {
  private readonly groups = new Map<number, Group<R>>();
  /** Timestamps that hold rows, ascending. */
  readonly times = new SortedTimes();
  /** Groups holding odd keys, by full key (empty for state written through put/set). */
  private readonly oddAt = new Map<string, Group<R>>();
  private count = 0;
  /** The last key parsed: a plugin's get(key) then set(key, row) parse it once. */
  private lastKey: string | null = null;
  private lastOk = false;
  private lastTs = 0;
  private lastHead = 0;
  /** Whether the last key's head is plain digits without a leading zero: then it is String(lastTs). */
  private lastCanonical = false;
  private lastRest = '';

  /** `restColumn`: the one key column after `timestamp`, or null when there are several. */
  constructor(private readonly restColumn: string | null) {}

  /** `<String(ts)>U+001F`: what every regular key of `g` starts with. */
  headOf(g: Group<R>): string {
    if (g.headText === null) g.headText = String(g.ts) + SEP;
    return g.headText;
  }

  get size(): number {
    return this.count;
  }

  /**
   * The row under `String(ts)` U+001F `rest` (`rest` already escaped as keyPart does), found
   * without building that key: what get() of it gives. Undefined for a timestamp that is not a
   * number, and when odd keys are held (get() then answers).
   */
  regularRow(ts: number, rest: string): R | undefined {
    return this.groups.get(ts)?.get(rest);
  }

  /** Whether regularRow() and keyFor() can stand for get() and parse(): no odd keys held. */
  get allRegular(): boolean {
    return this.oddAt.size === 0;
  }

  /**
   * The key `String(ts)` U+001F `rest` for a number `ts` (not NaN), made from the group's kept
   * head when there is one (no copy of the rest), and remembered as the last key parsed, split
   * already: the get() and set() of the write that follows do not parse (flatten and cut) it.
   */
  keyFor(ts: number, rest: string): string {
    const g = this.groups.get(ts);
    const head = g === undefined ? String(ts) + SEP : this.headOf(g);
    const key = head + rest;
    // What parse(key) would find: String(ts) never holds the separator, and reads back as ts.
    this.lastKey = key;
    this.lastOk = true;
    this.lastTs = ts === 0 ? 0 : ts;
    this.lastHead = head.length - 1;
    this.lastCanonical = true;
    this.lastRest = rest;
    return key;
  }

  /**
   * Whether `key` is the key last parsed or made by keyFor() and reads as `String(lastTs)`
   * U+001F `lastRest` exactly (its head plain digits as String() writes them): the write of it
   * that set() or delete() just made can be logged in those two parts (ChangeLog.recordSplit).
   */
  isLastSplit(key: string): boolean {
    return key === this.lastKey && this.lastOk && this.lastCanonical;
  }

  /** The last key's timestamp and rest (see isLastSplit). */
  get lastSplitTs(): number {
    return this.lastTs;
  }

  get lastSplitRest(): string {
    return this.lastRest;
  }

  /**
   * set() of the regular key `String(ts)` U+001F `rest` (`ts` the row's timestamp, a number, not
   * NaN; allRegular), without that key: what RowStore.write() stores when no key string is wanted.
   */
  setRegular(ts: number, rest: string, row: R): void {
    const t = ts === 0 ? 0 : ts;
    let g = this.groups.get(t);
    if (g === undefined) g = this.addGroup(t);
    if (g.set(this.restOf(row, rest), row)) this.count++;
  }

  get(key: string): R | undefined {
    const g = this.regularGroup(key);
    if (g !== undefined) {
      const row = g.get(this.lastRest);
      if (row !== undefined || this.oddAt.size === 0) return row;
    }
    return this.oddAt.size === 0 ? undefined : this.oddAt.get(key)?.odd?.get(key);
  }

  has(key: string): boolean {
    const g = this.regularGroup(key);
    if (g !== undefined && g.get(this.lastRest) !== undefined) return true;
    return this.oddAt.size > 0 && this.oddAt.has(key);
  }

  set(key: string, row: R): this {
    const ts = row.timestamp === 0 ? 0 : row.timestamp;
    if (this.oddAt.size > 0) this.deleteOdd(key);
    const regular = typeof ts === 'number' && this.parse(key) && this.lastTs === ts && this.headIs(key, ts);
    if (regular) {
      let g = this.groups.get(ts);
      if (g === undefined) g = this.addGroup(ts);
      if (g.set(this.restOf(row, this.lastRest), row)) this.count++;
      return this;
    }
    // Not of the regular form for this row's timestamp: drop any regular entry under the key, keep it whole.
    this.deleteRegular(key);
    const g = this.groups.get(ts) ?? this.addGroup(ts);
    if (g.odd === null) g.odd = new Map();
    g.odd.set(key, row);
    this.oddAt.set(key, g);
    this.count++;
    return this;
  }

  delete(key: string): boolean {
    return this.deleteRegular(key) || (this.oddAt.size > 0 && this.deleteOdd(key));
  }

  *keys(): IterableIterator<string> {
    for (const g of this.groups.values()) yield* this.keysOf(g);
  }

  *values(): IterableIterator<R> {
    for (const g of this.groups.values()) {
      yield* g.regularRows();
      if (g.odd !== null) yield* g.odd.values();
    }
  }

  *entries(): IterableIterator<[string, R]> {
    for (const g of this.groups.values()) {
      const head = this.headOf(g);
      for (const rest of g.rests()) yield [head + rest, g.get(rest) as R];
      if (g.odd !== null) yield* g.odd.entries();
    }
  }

  /** The entries as a digest's settle walks them: each key in two parts, nothing allocated per entry. */
  walkEntries(): EntryWalk {
    return new GroupsWalk([...this.groups.values()], (g) => this.headOf(g));
  }

  // ── the time index RowStore reads ──────────────────────────────────────────────

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
    return this.sortedRests(g, false)
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
      if (byValue) rows = this.byRestValue(rows, keys);
      if (!asc) rows.reverse();
      for (let j = from; j < rows.length; j++) yield rows[j] as R;
      return;
    }
    const rests = this.sortedRests(g, byValue);
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
    this.groups.delete(ts);
    this.times.remove(ts);
    this.count -= g.regularSize;
    return g;
  }

  // ── internals ──────────────────────────────────────────────────────────────────

  /** A regular group's rests in order: kept between reads for a large group, sorted each time for a small one. */
  private sortedRests(g: Group<R>, byValue: boolean): readonly string[] {
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
  private byRestValue(rows: R[], keys: readonly string[]): R[] {
    const column = this.restColumn;
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

  private *keysOf(g: Group<R>): IterableIterator<string> {
    const head = this.headOf(g);
    for (const rest of g.rests()) yield head + rest;
    if (g.odd !== null) yield* g.odd.keys();
  }

  /** The rest to store a row under: the row's own string when it is the rest, so no copy is kept. */
  private restOf(row: R, rest: string): string {
    if (this.restColumn !== null) {
      const own = (row as unknown as Record<string, unknown>)[this.restColumn];
      if (own === rest) return own;
    }
    return rest;
  }

  /** The group `key` names if it is a regular key of an existing group (lastRest then holds its rest). */
  private regularGroup(key: string): Group<R> | undefined {
    if (!this.parse(key)) return undefined;
    const g = this.groups.get(this.lastTs);
    return g !== undefined && this.headIs(key, g.ts) ? g : undefined;
  }

  /** Whether the last parsed key (`key`) starts with String(ts) and its separator; lastTs === ts already. */
  private headIs(key: string, ts: number): boolean {
    if (this.lastCanonical) return true;
    const head = String(ts);
    return head.length === this.lastHead && key.startsWith(head);
  }

  /** Splits `key` at its first separator into a number and the rest; false when it has no numeric head. */
  private parse(key: string): boolean {
    if (key === this.lastKey) return this.lastOk;
    this.lastKey = key;
    const at = key.indexOf(SEP);
    this.lastOk = false;
    if (at <= 0) return false;
    let ts = 0;
    let digits = at < 16;
    // Plain digits (every bucket end) parse without a substring; anything else through Number.
    for (let i = 0; digits && i < at; i++) {
      const d = key.charCodeAt(i) - 48;
      if (d < 0 || d > 9) digits = false;
      else ts = ts * 10 + d;
    }
    // Up to 15 digits without a leading zero are exactly how String() writes that number.
    this.lastCanonical = digits && (at === 1 || key.charCodeAt(0) !== 48);
    if (!digits) ts = Number(key.slice(0, at));
    this.lastTs = ts === 0 ? 0 : ts;
    this.lastHead = at;
    this.lastRest = key.slice(at + 1);
    this.lastOk = true;
    return true;
  }

  private addGroup(ts: number): Group<R> {
    const g = new Group<R>(ts);
    this.groups.set(ts, g);
    this.times.insert(ts);
    return g;
  }

  private dropIfEmpty(g: Group<R>): void {
    if (g.size > 0) return;
    this.groups.delete(g.ts);
    this.times.remove(g.ts);
  }

  private deleteRegular(key: string): boolean {
    const g = this.regularGroup(key);
    if (g === undefined || !g.delete(this.lastRest)) return false;
    this.count--;
    this.dropIfEmpty(g);
    return true;
  }

  private deleteOdd(key: string): boolean {
    const g = this.oddAt.get(key);
    if (g === undefined) return false;
    this.oddAt.delete(key);
    g.odd?.delete(key);
    if (g.odd?.size === 0) g.odd = null;
    this.count--;
    this.dropIfEmpty(g);
    return true;
  }
}
