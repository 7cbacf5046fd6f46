import type { Table } from './keyed-store.js';
import { SEP } from './row-key.js';
import { SortedTimes } from './sorted-times.js';

/** What RowStore needs of a row here: its timestamp (row-store.ts defines Row; imported from there it would be a cycle). */
interface Stamped {
  readonly timestamp: number;
}

/** The rows of one timestamp. */
class Group<R> {
  /** Key after `<timestamp>U+001F` → row. */
  readonly rows = new Map<string, R>();
  /** Full key → row, for keys not of the form `<String(timestamp)>U+001F…` (only loaded state can hold them). */
  odd: Map<string, R> | null = null;

  constructor(
    readonly ts: number,
    /** String(ts): the head of every regular key of the group. */
    readonly prefix: string,
  ) {}

  get size(): number {
    return this.rows.size + (this.odd === null ? 0 : this.odd.size);
  }
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
  private lastRest = '';

  /** `restColumn`: the one key column after `timestamp`, or null when there are several. */
  constructor(private readonly restColumn: string | null) {}

  get size(): number {
    return this.count;
  }

  get(key: string): R | undefined {
    const g = this.regularGroup(key);
    if (g !== undefined) {
      const row = g.rows.get(this.lastRest);
      if (row !== undefined || this.oddAt.size === 0) return row;
    }
    return this.oddAt.size === 0 ? undefined : this.oddAt.get(key)?.odd?.get(key);
  }

  has(key: string): boolean {
    const g = this.regularGroup(key);
    if (g?.rows.has(this.lastRest)) return true;
    return this.oddAt.size > 0 && this.oddAt.has(key);
  }

  set(key: string, row: R): this {
    const ts = row.timestamp === 0 ? 0 : row.timestamp;
    if (this.oddAt.size > 0) this.deleteOdd(key);
    let g = this.groups.get(ts);
    const regular =
      typeof ts === 'number' &&
      this.parse(key) &&
      this.lastTs === ts &&
      (g === undefined ? key.startsWith(String(ts)) && String(ts).length === this.lastHead : this.isHead(key, g));
    if (regular) {
      if (g === undefined) g = this.addGroup(ts);
      const rows = g.rows;
      const before = rows.size;
      rows.set(this.restOf(row), row);
      if (rows.size !== before) this.count++;
      return this;
    }
    // Not of the regular form for this row's timestamp: drop any regular entry under the key, keep it whole.
    this.deleteRegular(key);
    g = this.groups.get(ts) ?? this.addGroup(ts);
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
      yield* g.rows.values();
      if (g.odd !== null) yield* g.odd.values();
    }
  }

  *entries(): IterableIterator<[string, R]> {
    for (const g of this.groups.values()) {
      const head = g.prefix + SEP;
      for (const [rest, row] of g.rows) yield [head + rest, row];
      if (g.odd !== null) yield* g.odd.entries();
    }
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

  /** Rows at `ts` in key order, ascending or descending. */
  sortedAt(ts: number, asc: boolean): R[] {
    const g = this.groups.get(ts);
    if (g === undefined) return [];
    let out: R[];
    if (g.odd === null) {
      // Every key shares the head, so the rests sort as the full keys do.
      const rests = [...g.rows.keys()].sort();
      out = rests.map((rest) => g.rows.get(rest) as R);
    } else {
      const keys = [...this.keysOf(g)].sort();
      out = keys.map((key) => this.get(key) as R);
    }
    if (!asc) out.reverse();
    return out;
  }

  // ── internals ──────────────────────────────────────────────────────────────────

  private *keysOf(g: Group<R>): IterableIterator<string> {
    const head = g.prefix + SEP;
    for (const rest of g.rows.keys()) yield head + rest;
    if (g.odd !== null) yield* g.odd.keys();
  }

  /** The rest to store a row under: the row's own string when it is the rest, so no copy is kept. */
  private restOf(row: R): string {
    const rest = this.lastRest;
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
    return g !== undefined && this.isHead(key, g) ? g : undefined;
  }

  private isHead(key: string, g: Group<R>): boolean {
    return g.prefix.length === this.lastHead && key.startsWith(g.prefix);
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
    if (!digits) ts = Number(key.slice(0, at));
    this.lastTs = ts === 0 ? 0 : ts;
    this.lastHead = at;
    this.lastRest = key.slice(at + 1);
    this.lastOk = true;
    return true;
  }

  private addGroup(ts: number): Group<R> {
    const g = new Group<R>(ts, String(ts));
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
    if (g === undefined || !g.rows.delete(this.lastRest)) return false;
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
