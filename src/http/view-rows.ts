import type { ChangeCursor } from '../../actors/change-log.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { Row } from '../../actors/row-store.js';
import { PageOutOfRange } from '../../actors/view-query.js';
import { defaultStop, type ViewSpec } from './ws-view-spec.js';

interface ViewRow {
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
 * The rows of one live view, kept current from the plugin's change log: each tick costs
 * O(rows changed since this view's cursor), not O(view). Exact when the view holds every row
 * of its time range (page 1, fewer rows than `rows_per_page` and `limit`), the usual live
 * view. Otherwise the view falls back to recomputing the query and diffing it, and so does a
 * plugin with a custom `view()` (its rows derive from stores in ways only it knows), a
 * default `stop` that moves past rows stamped ahead, and a cursor that fell off the log.
 */
export class ViewRows {
  /** Storage key → row, in view order after a recompute (snapshot frames sort when deltas were applied). */
  private rows = new Map<string, ViewRow>();
  private cursor: ChangeCursor | null = null;
  /** The view holds every row in its range, so a delta from the change log is exact. */
  private complete = false;
  private sorted = true;
  private position = -1;
  private stop: number | undefined;
  private readonly custom: boolean;

  constructor(
    private readonly spec: ViewSpec,
    private readonly runtime: PluginRuntime,
    private readonly keyColumns: readonly string[],
    nowSeconds: number,
  ) {
    this.custom = runtime.plugin.definition.view !== undefined;
    this.rows = this.compute(nowSeconds);
    // Opened after the first compute: a custom view that throws leaves no reader behind.
    if (!this.custom) this.cursor = runtime.openReader();
  }

  get size(): number {
    return this.rows.size;
  }

  /** Row JSON in view order. */
  ordered(): string[] {
    if (!this.sorted) {
      const desc = this.spec.query.order === 'desc';
      const entries = [...this.rows].sort(([ka, a], [kb, b]) => (a.timestamp - b.timestamp || (ka < kb ? -1 : ka > kb ? 1 : 0)) * (desc ? -1 : 1));
      this.rows = new Map(entries);
      this.sorted = true;
    }
    return [...this.rows.values()].map((r) => r.json);
  }

  /** Brings the rows up to date; null when nothing in the view changed. */
  refresh(nowSeconds: number): ViewDelta | null {
    if (this.stopMovedPastRows(nowSeconds)) return this.recompute(nowSeconds);
    if (this.custom || this.cursor === null) return this.runtime.position === this.position ? null : this.recompute(nowSeconds);
    const changes = new Map<string, Row | undefined>();
    const covered = this.runtime.rowChangesSince(this.cursor, (key, row) => void changes.set(key, row));
    if (!covered || (!this.complete && changes.size > 0)) return this.recompute(nowSeconds);
    if (changes.size === 0) return null;
    return this.applyDelta(changes, nowSeconds);
  }

  close(): void {
    if (this.cursor !== null) this.runtime.closeReader(this.cursor);
    this.cursor = null;
  }

  private applyDelta(changes: Map<string, Row | undefined>, nowSeconds: number): ViewDelta | null {
    const { start } = this.spec.query;
    const stop = this.stop;
    const upserts: [string, ViewRow][] = [];
    const removed: string[] = [];
    const gone: string[] = [];
    let size = this.rows.size;
    for (const [key, row] of changes) {
      const inRange = row !== undefined && (start === undefined || row.timestamp >= start) && (stop === undefined || row.timestamp <= stop);
      const previous = this.rows.get(key);
      if (inRange) {
        const json = JSON.stringify(row);
        if (previous?.json === json) continue;
        if (previous === undefined) size++;
        upserts.push([key, { wire: this.wireKey(row), json, timestamp: row.timestamp }]);
      } else if (previous !== undefined) {
        size--;
        removed.push(previous.wire);
        gone.push(key);
      }
    }
    // The range now holds more rows than the page shows: which ones are shown needs the full query.
    if (size > this.capacity()) return this.recompute(nowSeconds);
    for (const key of gone) this.rows.delete(key);
    for (const [key, value] of upserts) this.rows.set(key, value);
    if (upserts.length > 0) this.sorted = false;
    this.position = this.runtime.position;
    if (upserts.length === 0 && removed.length === 0) return null;
    return { changed: upserts.map(([, r]) => r.json), removed };
  }

  /** Rows page 1 shows at most. */
  private capacity(): number {
    const q = this.spec.query;
    return Math.min(q.rowsPerPage, q.limit ?? Number.POSITIVE_INFINITY);
  }

  /** A default stop follows the clock; rows stamped past the old stop then come into view. */
  private stopMovedPastRows(nowSeconds: number): boolean {
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

  private recompute(nowSeconds: number): ViewDelta | null {
    const next = this.compute(nowSeconds);
    const changed: string[] = [];
    for (const [key, row] of next) if (this.rows.get(key)?.json !== row.json) changed.push(row.json);
    const removed: string[] = [];
    for (const [key, row] of this.rows) if (!next.has(key)) removed.push(row.wire);
    this.rows = next;
    if (this.cursor !== null) this.runtime.rowChangesSince(this.cursor, () => {});
    if (changed.length === 0 && removed.length === 0) return null;
    return { changed, removed };
  }

  private compute(nowSeconds: number): Map<string, ViewRow> {
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
    for (const row of rows) out.set(this.custom ? this.wireKey(row) : this.runtime.rowKeyOf(row), { wire: this.wireKey(row), json: JSON.stringify(row), timestamp: row.timestamp });
    return out;
  }

  private wireKey(row: Row): string {
    const r = row as unknown as Record<string, unknown>;
    return JSON.stringify(this.keyColumns.map((c) => r[c] ?? null));
  }
}
