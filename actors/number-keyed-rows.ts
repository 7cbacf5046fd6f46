import { type EntryWalk, HEAD_UNITS_MAX, headUnits, KeysWalk } from './entry-walk.js';
import { SortedTimes } from './sorted-times.js';
import type { Table } from './store-table.js';
import { TimestampIndex } from './timestamp-index.js';

/** What a row here has: its timestamp (row-store.ts defines Row; imported from there it would be a cycle). */
interface Stamped {
  readonly timestamp: number;
}

/**
 * Rows of a plugin whose key is `timestamp` alone (volume-1s: one row per bucket), kept in one
 * Map by the timestamp as a number. Every key such a plugin writes is `String(row.timestamp)`,
 * so the key string is not kept: it was a Map entry by string (a string made per new bucket,
 * hashed, and held) plus an entry in the timestamp index by number, two insertions and two
 * deletions per bucket; here one of each, keyed by a small integer. Keys are given back as
 * `String(ts)`, the very key that was written, and in the order they were written (Map order).
 *
 * A key that is not `String(row.timestamp)` (only loaded state can hold one, or a timestamp
 * that is not a number) turns the table for good into what it was before: a Map by key
 * string with a TimestampIndex beside it, filled in the same order, so nothing reads otherwise.
 */
export class NumberKeyedRows<R extends Stamped> implements Table<R> {
  private readonly byTime = new Map<number, R>();
  /** Timestamps that hold rows, ascending (while by number). */
  private ownTimes = new SortedTimes();
  /** Once a key that is not `String(row.timestamp)` came: every row by key string, and their index. */
  private generic: { readonly map: Map<string, R>; readonly index: TimestampIndex<R> } | null = null;
  /** The last key parse() was given and what it read: a plugin's get(key) then set(key, row) parse it once. */
  private lastKey: string | null = null;
  /** Whether the last key is `String(lastTs)` exactly, lastTs a number other than NaN. */
  private lastNumeric = false;
  private lastTs = 0;

  get size(): number {
    return this.generic === null ? this.byTime.size : this.generic.map.size;
  }

  /** Whether `key` is the key last read and is `String(lastNumber)`: a write of it may be logged as that number. */
  isLastNumber(key: string): boolean {
    return key === this.lastKey && this.lastNumeric;
  }

  get lastNumber(): number {
    return this.lastTs;
  }

  get(key: string): R | undefined {
    if (this.generic !== null) return this.generic.map.get(key);
    return this.parse(key) ? this.byTime.get(this.lastTs) : undefined;
  }

  has(key: string): boolean {
    if (this.generic !== null) return this.generic.map.has(key);
    return this.parse(key) && this.byTime.has(this.lastTs);
  }

  set(key: string, row: R): this {
    if (this.generic === null) {
      const ts = row.timestamp;
      if (this.parse(key) && ts === this.lastTs) {
        const rows = this.byTime;
        const before = rows.size;
        rows.set(ts, row);
        // As the row has it (-0 too), as the timestamp index did.
        if (rows.size !== before) this.ownTimes.insert(ts);
        return this;
      }
      this.becomeGeneric();
    }
    const { map, index } = this.generic as NonNullable<typeof this.generic>;
    const previous = map.get(key);
    map.set(key, row);
    index.written(key, previous, row);
    return this;
  }

  delete(key: string): boolean {
    if (this.generic === null) {
      const ts = this.parse(key) ? this.lastTs : Number.NaN;
      if (Number.isNaN(ts) || !this.byTime.delete(ts)) return false;
      this.ownTimes.remove(ts);
      return true;
    }
    const { map, index } = this.generic;
    const previous = map.get(key);
    if (!map.delete(key)) return false;
    index.written(key, previous, undefined);
    return true;
  }

  *keys(): IterableIterator<string> {
    if (this.generic !== null) yield* this.generic.map.keys();
    else for (const ts of this.byTime.keys()) yield String(ts);
  }

  values(): IterableIterator<R> {
    return this.generic === null ? this.byTime.values() : this.generic.map.values();
  }

  *entries(): IterableIterator<[string, R]> {
    if (this.generic !== null) yield* this.generic.map.entries();
    else for (const [ts, row] of this.byTime) yield [String(ts), row];
  }

  walkEntries(): EntryWalk {
    return this.generic === null ? new TimesWalk(this.byTime) : new KeysWalk(this.generic.map);
  }

  // ── the time index RowStore reads ──────────────────────────────────────────────

  /** Timestamps that hold rows, ascending: this table's while by number, else the index's. */
  get times(): SortedTimes {
    return this.generic === null ? this.ownTimes : this.generic.index.times;
  }

  countAt(ts: number): number {
    if (this.generic !== null) return this.generic.index.countAt(ts);
    return this.byTime.has(ts) ? 1 : 0;
  }

  *keysAt(ts: number): IterableIterator<string> {
    if (this.generic !== null) yield* this.generic.index.keysAt(ts);
    else if (this.byTime.has(ts)) yield String(ts);
  }

  lastKeysAt(ts: number, n: number): string[] {
    if (this.generic !== null) return this.generic.index.lastKeysAt(ts, n);
    return n > 0 && this.byTime.has(ts) ? [String(ts)] : [];
  }

  *rowsAt(ts: number, asc: boolean, from: number, byValue: boolean): Generator<R> {
    if (this.generic !== null) {
      yield* this.generic.index.rowsAt(ts, asc, from, byValue);
      return;
    }
    const row = this.byTime.get(ts);
    if (row !== undefined && from === 0) yield row;
  }

  /**
   * Removes the row at `ts` from the table and the index at once and returns it (its key is
   * `String(ts)`); undefined when there is none, null once the rows are by key string (delete
   * them one by one).
   */
  takeAt(ts: number): R | undefined | null {
    if (this.generic !== null) return null;
    const row = this.byTime.get(ts);
    if (row === undefined) return undefined;
    this.byTime.delete(ts);
    this.ownTimes.remove(ts);
    return row;
  }

  // ── internals ──────────────────────────────────────────────────────────────────

  /**
   * Whether `key` is `String(n)` for a number n other than NaN (then in lastTs). Up to 15 plain
   * digits without a leading zero (every bucket end) are read without Number() or a new string.
   */
  private parse(key: string): boolean {
    if (key === this.lastKey) return this.lastNumeric;
    this.lastKey = key;
    const n = key.length;
    let ts = 0;
    let digits = n > 0 && n < 16 && (n === 1 || key.charCodeAt(0) !== 48);
    for (let i = 0; digits && i < n; i++) {
      const d = key.charCodeAt(i) - 48;
      if (d < 0 || d > 9) digits = false;
      else ts = ts * 10 + d;
    }
    if (!digits) {
      ts = Number(key);
      if (Number.isNaN(ts) || String(ts) !== key) {
        this.lastNumeric = false;
        return false;
      }
    }
    this.lastTs = ts;
    this.lastNumeric = true;
    return true;
  }

  /** By key string from now on, the rows in the order they were written. */
  private becomeGeneric(): void {
    const map = new Map<string, R>();
    const index = new TimestampIndex<R>((key) => map.get(key));
    for (const [ts, row] of this.byTime) {
      const key = String(ts);
      map.set(key, row);
      index.written(key, undefined, row);
    }
    this.byTime.clear();
    this.ownTimes = new SortedTimes();
    this.generic = { map, index };
    this.lastKey = null;
  }
}

/** A digest's walk of the rows by number: each key made as `String(ts)`, the rest empty (entry-walk.ts). */
class TimesWalk<R> implements EntryWalk {
  head = '';
  headUnits = -1;
  readonly units = new Int32Array(HEAD_UNITS_MAX);
  readonly rest = '';
  value: unknown = undefined;
  private readonly entries: Iterator<[number, R]>;

  constructor(rows: Map<number, R>) {
    this.entries = rows.entries();
  }

  step(): boolean {
    const next = this.entries.next();
    if (next.done === true) return false;
    const ts = next.value[0];
    this.headUnits = headUnits(ts, false, this.units);
    if (this.headUnits < 0) this.head = String(ts);
    this.value = next.value[1];
    return true;
  }
}
