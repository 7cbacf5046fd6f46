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
const rowJson = (row: Row): string => derivedOnce(ROW_JSON, row, JSON.stringify);

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
 * The rows of one live view, kept current from the plugin's change log: a tick costs
 * O(rows changed since this view's cursor), plus O(window) when a new row pushes the last one
 * out of a full window, instead of recomputing and re-encoding the whole view. Page 1 (what
 * live clients watch) is maintained this way: the window is the first `min(rows_per_page,
 * limit)` rows of the range in view order. The view falls back to recomputing the query and
 * diffing it when a row leaves a full window (the next row must be pulled in) or crosses its
 * edge, for pages after the first, for plugins with a custom `view()` (their rows derive from
 * stores in ways only they know), when a default `stop` moves past rows stamped ahead, and
 * when the cursor fell off the bounded log. A view nobody watches is suspended: it lets its
 * reader go and is not refreshed at all until resume() catches it up with one recompute.
 */
export class ViewRows {
  /** Storage key → row, in view order after a recompute (snapshot frames sort when deltas were applied). */
  private rows = new Map<string, ViewRow>();
  private cursor: ChangeCursor | null = null;
  /** The view holds every row in its range, so a delta from the change log is exact. */
  private complete = false;
  private sorted = true;
  /** The window's last row in view order, or null when it must be found again. */
  private last: [string, ViewRow] | null = null;
  private position = -1;
  private stop: number | undefined;
  /** Rows from the plugin's own `view()` (recomputed when the state moved, from a result shared per state). */
  private readonly custom: boolean;
  /** Rows of one timestamp in ascending key-value order whatever the order (PluginRuntime.tiesByValue). */
  private readonly tiesByValue: boolean;
  /** Ticks served from the change log vs by recomputing the query (tests and the bench read them). */
  readonly counts = { deltas: 0, recomputes: 0 };
  private suspended = false;

  constructor(
    private readonly spec: ViewSpec,
    private readonly runtime: PluginRuntime,
    private readonly keyColumns: readonly string[],
    nowSeconds: number,
  ) {
    this.custom = runtime.customView(spec.query.params);
    this.tiesByValue = runtime.tiesByValue(spec.query.params);
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
      const entries = [...this.rows].sort(([ka, a], [kb, b]) => this.compare(ka, a, kb, b));
      this.rows = new Map(entries);
      this.sorted = true;
    }
    return [...this.rows.values()].map((r) => r.json);
  }

  /** Brings the rows up to date; null when nothing in the view changed. */
  refresh(nowSeconds: number): ViewDelta | null {
    if (this.suspended) return null;
    if (this.stopMovedPastRows(nowSeconds)) return this.recompute(nowSeconds);
    if (this.custom || this.cursor === null)
      return this.runtime.position === this.position ? null : this.recompute(nowSeconds);
    const changes = new Map<string, Row | undefined>();
    const covered = this.runtime.rowChangesSince(this.cursor, (key, row) => void changes.set(key, row));
    if (!covered || this.spec.query.page !== 1) return changes.size > 0 || !covered ? this.recompute(nowSeconds) : null;
    if (changes.size === 0) return null;
    this.counts.deltas++;
    return this.applyDelta(changes, nowSeconds);
  }

  close(): void {
    if (this.cursor !== null) this.runtime.closeReader(this.cursor);
    this.cursor = null;
  }

  /**
   * Stops following the plugin while nobody watches: no work per tick, and no reader holding
   * the change log back. The rows stay what the last subscribers were sent.
   */
  suspend(): void {
    this.close();
    this.suspended = true;
  }

  /**
   * Follows the plugin again. The delta from the rows held when suspended to the current ones
   * is one recompute-and-diff (skipped when nothing can have changed), so clients that held the
   * view before get exactly the rows that changed meanwhile, as from any other tick.
   */
  resume(nowSeconds: number): ViewDelta | null {
    if (!this.suspended) return null;
    this.suspended = false;
    // Opened before the recompute, which moves it to now: changes from here on are deltas again.
    if (!this.custom) this.cursor = this.runtime.openReader();
    if (this.runtime.position === this.position && !this.stopMovedPastRows(nowSeconds)) return null;
    return this.recompute(nowSeconds);
  }

  /**
   * Applies the changed rows to the window. A complete view takes every in-range row; a full
   * window (more rows in range than it shows) takes a row that sorts before its last one and
   * lets the last one go. Only a row leaving a full window needs the query again (to pull in
   * the next row), as does a row whose move in time crosses the window's edge.
   */
  private applyDelta(changes: Map<string, Row | undefined>, nowSeconds: number): ViewDelta | null {
    const { start } = this.spec.query;
    const stop = this.stop;
    // Storage key → JSON sent / wire key removed; `added`: keys the client has not seen yet.
    const changed = new Map<string, string>();
    const removed = new Map<string, string>();
    const added = new Set<string>();
    // Values before this delta: a fallback half-way undoes it first, so the recompute diffs against what clients hold.
    const undo = new Map<string, ViewRow | undefined>();
    const touch = (key: string) => void (undo.has(key) || undo.set(key, this.rows.get(key)));
    const fallback = () => {
      for (const [key, row] of undo)
        if (row === undefined) this.rows.delete(key);
        else this.rows.set(key, row);
      return this.recompute(nowSeconds);
    };
    for (const [key, row] of changes) {
      const inRange =
        row !== undefined &&
        (start === undefined || row.timestamp >= start) &&
        (stop === undefined || row.timestamp <= stop);
      const previous = this.rows.get(key);
      if (!inRange) {
        if (previous === undefined) continue;
        if (!this.complete) return fallback();
        touch(key);
        this.rows.delete(key);
        this.last = null;
        removed.set(key, previous.wire);
        continue;
      }
      const json = rowJson(row);
      if (previous?.json === json) continue;
      const next: ViewRow = { wire: previous?.wire ?? this.wireKey(row), json, timestamp: row.timestamp };
      if (!this.complete) {
        const edge = this.lastRow();
        const inside = edge === null || this.compare(key, next, edge[0], edge[1]) <= 0;
        if (previous !== undefined && !inside) return fallback();
        if (previous === undefined && !inside) continue;
      }
      touch(key);
      this.rows.set(key, next);
      this.sorted = false;
      if (previous === undefined || previous.timestamp !== next.timestamp) this.last = null;
      changed.set(key, json);
      if (previous === undefined && !removed.delete(key)) added.add(key);
      if (previous === undefined && this.rows.size > this.capacity()) {
        // The window overflowed: its last row leaves, and from now on rows sort against that edge.
        const [edgeKey, edge] = this.lastRow() as [string, ViewRow];
        touch(edgeKey);
        this.rows.delete(edgeKey);
        this.last = null;
        this.complete = false;
        changed.delete(edgeKey);
        if (!added.delete(edgeKey)) removed.set(edgeKey, edge.wire);
      }
    }
    this.position = this.runtime.position;
    if (changed.size === 0 && removed.size === 0) return null;
    return { changed: [...changed.values()], removed: [...removed.values()] };
  }

  /** The row that sorts last in the window (cached until the window changes). */
  private lastRow(): [string, ViewRow] | null {
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
  private compare(ka: string, a: ViewRow, kb: string, b: ViewRow): number {
    const desc = this.spec.query.order === 'desc';
    if (this.tiesByValue)
      return (desc ? b.timestamp - a.timestamp : a.timestamp - b.timestamp) || compareKeyValues(ka, kb);
    const c = a.timestamp - b.timestamp || (ka < kb ? -1 : ka > kb ? 1 : 0);
    return desc ? -c : c;
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
    for (const row of rows)
      out.set(this.custom ? this.wireKey(row) : this.runtime.rowKeyOf(row), {
        wire: this.wireKey(row),
        json: rowJson(row),
        timestamp: row.timestamp,
      });
    return out;
  }

  private wireKey(row: Row): string {
    const r = row as unknown as Record<string, unknown>;
    return JSON.stringify(this.keyColumns.map((c) => r[c] ?? null));
  }
}
