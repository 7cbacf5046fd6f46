import type { ChangeCursor } from '../../actors/change-log.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { Row } from '../../actors/row-store.js';
import { compareKeyValues } from '../../actors/sorted-keys.js';
import { PageOutOfRange } from '../../actors/view-query.js';
import { derivedOnce } from './answer-memo.js';
import { defaultStop, type ViewSpec } from './ws-view-spec.js';

/**
 * Each row's JSON, made once per row object and shared by every live view showing that row.
 * Views over one plugin that differ only in their parameters (`start`, `rows_per_page`, a
 * filter) mostly show the same rows, and each used to keep its own encoding of them: 1,000
 * views of 100 rows of 9 KB held 900 MB of copies of the same few megabytes. A stored row is
 * never changed in place (containers freeze what plugins write, or hold the built-in plugins'
 * fresh objects; a write of the same object counts as no change), so its JSON stays its JSON;
 * it lives as long as the row object does.
 */
const ROW_JSON = new WeakMap<Row, string>();
export const rowJson = (row: Row): string => derivedOnce(ROW_JSON, row, JSON.stringify);

export interface ViewRow {
  /** Wire key: JSON of the key columns' values. */
  readonly wire: string;
  readonly json: string;
  readonly timestamp: number;
}

/** What changed in a view since the last refresh: rows to send (JSON) and wire keys that left. */
export interface ViewDelta {
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

/**
 * A live view's rows as last computed (view-rows.ts): the query's page in view order, the
 * window's last row, and the recompute diffed against the rows held. ViewRows extends it with
 * the ticks: deltas from the change log, suspend and resume.
 */
export class ViewWindow {
  /** Storage key → row, in view order after a recompute (snapshot frames sort when deltas were applied). */
  protected rows = new Map<string, ViewRow>();
  protected cursor: ChangeCursor | null = null;
  /** The view holds every row in its range, so a delta from the change log is exact. */
  protected complete = false;
  protected sorted = true;
  /** The window's last row in view order, or null when it must be found again. */
  protected last: [string, ViewRow] | null = null;
  protected position = -1;
  protected stop: number | undefined;
  /** Rows from the plugin's own `view()` (recomputed when the state moved, from a result shared per state). */
  protected readonly custom: boolean;
  /** Rows of one timestamp in ascending key-value order whatever the order (PluginRuntime.tiesByValue). */
  protected readonly tiesByValue: boolean;
  /** Ticks served from the change log vs by recomputing the query (tests and the bench read them). */
  readonly counts = { deltas: 0, recomputes: 0 };

  constructor(
    protected readonly spec: ViewSpec,
    protected readonly runtime: PluginRuntime,
    private readonly keyColumns: readonly string[],
  ) {
    this.custom = runtime.customView(spec.query.params);
    this.tiesByValue = runtime.tiesByValue(spec.query.params);
  }

  /** The row that sorts last in the window (cached until the window changes). */
  protected lastRow(): [string, ViewRow] | null {
    if (this.last !== null) return this.last;
    let worst: [string, ViewRow] | null = null;
    for (const entry of this.rows)
      if (worst === null || this.compare(entry[0], entry[1], worst[0], worst[1]) > 0) worst = entry;
    this.last = worst;
    return worst;
  }

  /**
   * The view's order, as the row store scans: (timestamp, storage key), both ascending or both
   * descending; with tiesByValue the keys' values ascend whatever the order.
   */
  protected compare(ka: string, a: ViewRow, kb: string, b: ViewRow): number {
    const desc = this.spec.query.order === 'desc';
    if (this.tiesByValue)
      return (desc ? b.timestamp - a.timestamp : a.timestamp - b.timestamp) || compareKeyValues(ka, kb);
    const c = a.timestamp - b.timestamp || (ka < kb ? -1 : ka > kb ? 1 : 0);
    return desc ? -c : c;
  }

  /** Rows page 1 shows at most. */
  protected capacity(): number {
    const q = this.spec.query;
    return Math.min(q.rowsPerPage, q.limit ?? Number.POSITIVE_INFINITY);
  }

  /** A default stop follows the clock; rows stamped past the old stop then come into view. */
  protected stopMovedPastRows(nowSeconds: number): boolean {
    if (this.spec.query.stop !== undefined) return false;
    const stop = defaultStop(this.runtime, nowSeconds);
    if (stop === this.stop) return false;
    const newest = this.runtime.newestRow;
    if (!this.custom && (newest === undefined || this.stop === undefined || newest <= this.stop)) {
      this.stop = stop;
      return false;
    }
    return true;
  }

  protected recompute(nowSeconds: number): ViewDelta | null {
    this.counts.recomputes++;
    const next = this.compute(nowSeconds);
    const changed: string[] = [];
    for (const [key, row] of next) if (this.rows.get(key)?.json !== row.json) changed.push(row.json);
    const removed: string[] = [];
    for (const [key, row] of this.rows) if (!next.has(key)) removed.push(row.wire);
    this.rows = next;
    this.last = null;
    if (this.cursor !== null) this.runtime.rowChangesSince(this.cursor, () => {});
    if (changed.length === 0 && removed.length === 0) return null;
    return { changed, removed };
  }

  protected compute(nowSeconds: number): Map<string, ViewRow> {
    // Recorded first: a custom view that throws is retried on the next change, not every tick.
    this.position = this.runtime.position;
    const q = this.spec.query;
    this.stop = q.stop ?? defaultStop(this.runtime, nowSeconds);
    let rows: readonly Row[];
    let total = 0;
    try {
      const page = this.runtime.query({ ...q, stop: this.stop });
      rows = page.rows;
      total = page.total;
    } catch (err) {
      // HTTP answers 400 for a page past the end; a live view is empty until rows reach it.
      if (!(err instanceof PageOutOfRange)) throw err;
      rows = [];
    }
    this.complete = q.page === 1 && total <= this.capacity() && (q.limit === undefined || total < q.limit);
    this.sorted = true;
    const out = new Map<string, ViewRow>();
    for (const row of rows)
      out.set(this.custom ? this.wireKey(row) : this.runtime.rowKeyOf(row), {
        wire: this.wireKey(row),
        json: rowJson(row),
        timestamp: row.timestamp,
      });
    return out;
  }

  protected wireKey(row: Row): string {
    const r = row as unknown as Record<string, unknown>;
    return JSON.stringify(this.keyColumns.map((c) => r[c] ?? null));
  }
}
