import { type EntryWalk, GroupsWalk } from './entry-walk.js';
import { GroupIndex } from './group-index.js';
import type { Table } from './store-table.js';
import { LastRowKey } from './last-row-key.js';
import { Group } from './row-group.js';
import { SEP } from './row-key.js';
import type { SortedTimes } from './sorted-times.js';

/** What RowStore needs of a row here: its timestamp (row-store.ts defines Row; imported from there it would be a cycle). */
export interface Stamped {
  readonly timestamp: number;
}

/**
 * Rows of a plugin whose key columns start with `timestamp` (most: counters per bucket and
 * value), stored as one Map per timestamp keyed by the rest of the row key. The full key
 * string is never kept: it is `<timestamp>U+001F<rest>`, and with one further key column the
 * rest is that column's own string, which the row already holds. A key therefore costs its
 * row and one Map entry, and the groups are the timestamp index (no Set per timestamp),
 * found by timestamp and walked in the order they came without a Map of them (group-index.ts).
 *
 * Implements the Table a KeyedStore keeps its entries in; what RowStore's time index asks of
 * the groups besides is grouped-rows.ts.
 */
export class GroupedTable<R extends Stamped> extends LastRowKey implements Table<R> {
  protected readonly groups = new GroupIndex<Group<R>>();
  /** Groups holding odd keys, by full key (empty for state written through put/set). */
  private readonly oddAt = new Map<string, Group<R>>();
  protected count = 0;

  /** `restColumn`: the one key column after `timestamp`, or null when there are several. */
  constructor(protected readonly restColumn: string | null) {
    super();
  }

  /** The last head headOf() made, and the timestamp it is for. */
  private headTs = Number.NaN;
  private head = '';

  /**
   * `<String(ts)>U+001F`: what every regular key of `g` starts with. Kept for the last timestamp
   * asked, not in each group (a member more in every group the scavenges copy): a plugin's writes
   * go to its newest bucket message after message, and a walk asks once per group.
   */
  headOf(g: Group<R>): string {
    const ts = g.ts;
    if (ts !== this.headTs) {
      this.head = String(ts) + SEP;
      this.headTs = ts;
    }
    return this.head;
  }

  get size(): number {
    return this.count;
  }

  /** Timestamps that hold rows, ascending. */
  get times(): SortedTimes<unknown> {
    return this.groups.times;
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
   * `own`: `rest` is what restOf() gives for the row set next under the key (the row's own string
   * when that is the rest), so set() keeps it without reading the row's rest column again.
   */
  keyFor(ts: number, rest: string, own = false): string {
    // The key made or parsed last, when it is this one: the same string again, so the digest
    // and this table compare it by pointer and its hash is kept, where a key made afresh (a cons
    // string) was flattened and hashed again by each (a counter's row written by message after
    // message of one bucket).
    const last = this.lastKey;
    if (last !== null && this.lastOk && this.lastCanonical && this.lastTs === ts && this.lastRest === rest) {
      this.lastRestOwn = own;
      this.lastRest = rest;
      return last;
    }
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
    this.lastRestOwn = own;
    return key;
  }

  /**
   * set() of the regular key `String(ts)` U+001F `rest` (`ts` the row's timestamp, a number, not
   * NaN; allRegular), without that key: what RowStore.write() stores when no key string is wanted.
   * `rest` is kept as given: the caller passes the row's own string when it is the rest (restOf).
   */
  setRegular(ts: number, rest: string, row: R): void {
    const t = ts === 0 ? 0 : ts;
    let g = this.groups.get(t);
    if (g === undefined) g = this.addGroup(t);
    if (g.set(rest, row)) this.count++;
  }

  /**
   * setRegular() that gives back the row it replaced (undefined: the rest is new): what
   * regularRow() of the same (`ts`, `rest`) just before would give, with the group found once.
   */
  swapRegular(ts: number, rest: string, row: R): R | undefined {
    const t = ts === 0 ? 0 : ts;
    let g = this.groups.get(t);
    if (g === undefined) g = this.addGroup(t);
    const previous = g.get(rest);
    if (g.set(rest, row)) this.count++;
    return previous;
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
      if (g.set(this.lastRestOwn ? this.lastRest : this.restOf(row, this.lastRest), row)) this.count++;
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
    for (const g of this.groups.groups()) yield* this.keysOf(g);
  }

  *values(): IterableIterator<R> {
    for (const g of this.groups.groups()) {
      yield* g.regularRows();
      if (g.odd !== null) yield* g.odd.values();
    }
  }

  *entries(): IterableIterator<[string, R]> {
    for (const g of this.groups.groups()) {
      const head = this.headOf(g);
      for (const rest of g.rests()) yield [head + rest, g.get(rest) as R];
      if (g.odd !== null) yield* g.odd.entries();
    }
  }

  /** The entries as a digest's settle walks them: each key in two parts, nothing allocated per entry. */
  walkEntries(): EntryWalk {
    return new GroupsWalk(this.groups.list(), (g) => this.headOf(g));
  }

  // ── internals ──────────────────────────────────────────────────────────────────

  protected *keysOf(g: Group<R>): IterableIterator<string> {
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

  private addGroup(ts: number): Group<R> {
    const g = new Group<R>(ts);
    this.groups.add(g);
    return g;
  }

  private dropIfEmpty(g: Group<R>): void {
    if (g.size > 0) return;
    this.groups.remove(g);
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
