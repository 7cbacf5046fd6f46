import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { Row } from '../../actors/row-store.js';
import { rowJson, type ViewDelta, type ViewRow, ViewWindow } from './view-window.js';
import type { ViewSpec } from './ws-view-spec.js';

export type { ViewDelta } from './view-window.js';

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
export class ViewRows extends ViewWindow {
  private suspended = false;

  constructor(spec: ViewSpec, runtime: PluginRuntime, keyColumns: readonly string[], nowSeconds: number) {
    super(spec, runtime, keyColumns);
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
}
