import type { ChangeLog } from './change-log.js';
import { RowKeyMismatchError, keyPart, rowKeyOf } from './row-key.js';
import { UnstorableValueError } from './storable-value.js';
import { RowEvictions } from './row-evictions.js';

// Imported from here by the rest of the code.
export type { RowRange } from './time-indexed-rows.js';

/** Every row a plugin exposes has a float UNIX timestamp plus its own columns. */
export interface Row {
  readonly timestamp: number;
}

/**
 * The rows a plugin serves, keyed by the plugin's row key: what a write derives its key from and
 * checks it against (row-key.ts). Their index by timestamp and scans: time-indexed-rows.ts;
 * their evictions: row-evictions.ts.
 */
export class RowStore<R extends Row = Row> extends RowEvictions<R> {
  /** `keyColumns`: the plugin's `key`; every row is stored under the key they give (see row-key.ts). */
  constructor(private readonly keyColumns: readonly string[] = []) {
    super(keyColumns);
  }

  /** The storage key of a row, or of the key columns' values: `rows.get(rows.keyOf({ timestamp: bucket, user }))`. */
  keyOf(fields: Readonly<Record<string, unknown>>): string {
    return rowKeyOf(this.keyColumns, fields);
  }

  /**
   * The row stored under the key `fields`' key columns give: `rows.get(rows.keyOf(fields))`,
   * without building the key when the rows are grouped by timestamp (a counter's read per message).
   */
  lookup(fields: Readonly<Record<string, unknown>>): R | undefined {
    const grouped = this.grouped;
    const ts = fields['timestamp'];
    if (
      grouped !== null &&
      this.restColumn !== null &&
      typeof ts === 'number' &&
      !Number.isNaN(ts) &&
      grouped.allRegular
    )
      return grouped.regularRow(ts, keyPart(fields[this.restColumn]));
    return this.get(rowKeyOf(this.keyColumns, fields));
  }

  /** Stores a row under the key its key columns give; returns that key. */
  put(row: R): string {
    const grouped = this.grouped;
    const ts: unknown = row.timestamp;
    // Grouped by timestamp with one more key column: the key is made split already (keyFor).
    const key =
      grouped !== null && this.restColumn !== null && typeof ts === 'number' && !Number.isNaN(ts)
        ? this.groupedKey(grouped, ts, (row as unknown as Record<string, unknown>)[this.restColumn])
        : rowKeyOf(this.keyColumns, row as unknown as Record<string, unknown>);
    super.set(key, row);
    return key;
  }

  /**
   * put() without giving the key back, so none need be made: rows grouped by timestamp are then
   * stored, logged and hashed by (timestamp, rest) while no snapshot cut wants the key as a
   * string (the digest takes the parts: StateDigest.touchSplit). A replayed message opening a
   * bucket built `String(ts)`, the key's head and the key, ~100 bytes, only to drop them; a live
   * write, the key and, to hash it, its flat copy.
   */
  write(row: R): void {
    const grouped = this.grouped;
    const ts: unknown = row.timestamp;
    if (grouped === null || this.restColumn === null || typeof ts !== 'number' || Number.isNaN(ts)) {
      this.put(row);
      return;
    }
    const own = (row as unknown as Record<string, unknown>)[this.restColumn];
    const rest = keyPart(own);
    // At most 25 units of `String(ts)` and separator, 575 of rest: the 600 setOver() lets by uncounted.
    if (!this.splitWrites || !grouped.allRegular || rest.length > 575) {
      const key = grouped.keyFor(ts, own === rest ? own : rest, true);
      if (grouped.allRegular) this.writeRegular(grouped, key, ts, own === rest ? own : rest, row);
      else super.set(key, row);
      return;
    }
    this.checkSplitStorable(ts, rest, row);
    // The row's own string when it is the rest, read once here (a load of a column named at run
    // time, on rows of every plugin's shape: megamorphic), so the group keeps no copy of it.
    const previous = grouped.swapRegular(ts, own === rest ? own : rest, row);
    this.recordSplitWrite(ts, rest, previous, row);
  }

  /**
   * super.set(key, row) of the regular key keyFor() just made of (`ts`, `rest`), with no odd key
   * held: the stored row is found and the row stored by those two parts, so neither the table's
   * get() nor its set() parses the key again, and set() does not read the row's timestamp once
   * more (a load on rows of every plugin's shape: megamorphic). Grouped rows have no index
   * beside the table for afterWrite() to keep.
   */
  private writeRegular(grouped: NonNullable<typeof this.grouped>, key: string, ts: number, rest: string, row: R): void {
    const previous = grouped.regularRow(ts, rest);
    const logged = this.recordWrite(key, row, previous);
    grouped.setRegular(ts, rest, row);
    this.touch(logged);
  }

  /**
   * The key of a row grouped by timestamp whose rest column holds `own`, made split already
   * (keyFor), with the row's own string as the rest when it is one: read once here (a load of a
   * column named at run time, on rows of every plugin's shape: megamorphic), not again by the
   * table's set().
   */
  private groupedKey(grouped: NonNullable<typeof this.grouped>, ts: number, own: unknown): string {
    const rest = keyPart(own);
    return grouped.keyFor(ts, own === rest ? own : rest, true);
  }

  /**
   * A row of a plugin whose values are checked (RuntimeOptions.checkValues) needs a finite number
   * as its timestamp, as restore requires (restore-checks.ts validateRows): one stamped NaN (a
   * `Number()` of a missing field) was kept and written into every snapshot, and the next start
   * refused each generation and began empty. Refused here, only its message is lost to the plugin.
   */
  protected override checkStorable(key: string, row: R): void {
    const ts: unknown = (row as Partial<Row> | null)?.timestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts))
      throw new UnstorableValueError(
        `cannot keep the row for key ${JSON.stringify(key.slice(0, 80))}: its timestamp ${typeof ts === 'number' ? ts : typeof ts} is not a finite number of epoch seconds`,
      );
    super.checkStorable(key, row);
  }

  /** Like put(), with the key spelled out: it must be the one the key columns give, else the write throws. */
  override set(key: string, row: R): void {
    if (this.keyColumns.length > 0 && !this.isKeyOf(key, row)) {
      const derived = rowKeyOf(this.keyColumns, row as unknown as Record<string, unknown>);
      if (derived !== key) {
        throw new RowKeyMismatchError(
          `row key ${JSON.stringify(key.slice(0, 120))} is not what the key columns [${this.keyColumns.join(', ')}] give (${JSON.stringify(derived.slice(0, 120))}); HTTP and WebSocket would disagree about this row. Use rows.put(row), or rows.keyOf(...) to build the key`,
        );
      }
    }
    super.set(key, row);
  }

  /**
   * A grouped row's write goes into the change log as (timestamp, rest), and a row keyed by its
   * timestamp alone as that number: the key string made for the write is then garbage at once
   * instead of living as long as the log holds it.
   */
  protected override logWrite(log: ChangeLog, container: number, key: string): void {
    const grouped = this.grouped;
    const numbered = this.numbered;
    if (grouped?.isLastSplit(key)) log.recordSplit(container, grouped.lastSplitTs, grouped.lastSplitRest);
    else if (numbered?.isLastNumber(key)) log.recordNumber(container, numbered.lastNumber);
    else log.record(container, key);
  }

  /** Whether `key` is the one the key columns give for `row`, without building it (the common cases). */
  private isKeyOf(key: string, row: R): boolean {
    const fields = row as unknown as Record<string, unknown>;
    // String(number) is V8's cached string of that number: usually the very string the plugin built the key from.
    if (this.restColumn === null) {
      if (this.keyColumns.length !== 1) return false;
      const value = fields[this.keyColumns[0] as string];
      return typeof value === 'number' && String(value) === key;
    }
    if (typeof row.timestamp !== 'number') return false;
    const rest = keyPart(fields[this.restColumn]);
    const head = key.length - rest.length - 1;
    if (head <= 0 || key.charCodeAt(head) !== 0x1f || !key.endsWith(rest)) return false;
    const ts = String(row.timestamp);
    return ts.length === head && key.startsWith(ts);
  }
}
