import { type ChangeCursor, ROWS } from './change-log.js';
import type { ReadonlyKeyedStore, KeyedStore } from './keyed-store.js';
import type { PluginCounters, PluginStats } from './plugin-counters.js';
import type { Row, RowStore } from './row-store.js';
import { RuntimeViews } from './runtime-views.js';
import { formatDigest } from './state-digest.js';

/**
 * What the edges read of a plugin's state besides its view: change-log readers, position,
 * counters and stats, the state digest (deferred through restore and replay), and the key
 * counts the service-wide key budget weighs.
 */
export class RuntimeReads extends RuntimeViews {
  /** The storage key of a row (derived from the plugin's key columns). */
  rowKeyOf(row: Row): string {
    return this.state.rows.keyOf(row as unknown as Record<string, unknown>);
  }

  get position(): number {
    return this.log.position;
  }

  /** Messages received so far (counters.received), without copying the counters as stats() does. */
  get received(): number {
    return this.state.counters.received;
  }

  /** Messages dropped because update threw (counters.dropped.update_error), without copying the counters. */
  get updateErrors(): number {
    return this.state.counters.dropped.update_error;
  }

  /** Restore and replay ahead: writes go unhashed until settleDigest() (state-digest.ts, defer()). */
  deferDigest(): void {
    this.state.rows.deferDigest();
    for (const s of this.storeList) s.deferDigest();
  }

  /** Whether some container's digest still waits for its settle (state-digest.ts, defer()). */
  get digestDeferred(): boolean {
    return this.digests.some((d) => d.deferred);
  }

  /** Hashes up to `budget` entries of a deferred digest; true once it is up to date. */
  settleDigest(budget: number): boolean {
    for (const d of this.digests) if (!d.settleSome(budget)) return false;
    return true;
  }

  /** The state digest (see state-digest.ts): O(containers), no walk of the state once settled. */
  get digest(): string {
    return formatDigest(this.digests);
  }

  get newestRow(): number | undefined {
    return this.state.rows.newestTimestamp;
  }

  stats(): PluginStats {
    const c = this.state.counters;
    const runtime = this;
    return {
      counters: { ...c, dropped: { ...c.dropped } },
      rows: this.state.rows.size,
      keys: this.keyCount,
      newestRow: this.state.rows.newestTimestamp,
      maxKeys: this.maxKeys,
      keyCap: this.cap,
      lifecycle: this.lifecycle.current,
      position: this.log.position,
      get digest() {
        return runtime.digest;
      },
    };
  }

  /** Read-only containers and counters, for tests and tools that assert on them. */
  inspect(): {
    readonly rows: RowStore<Row> & ReadonlyKeyedStore<Row>;
    readonly stores: Readonly<Record<string, ReadonlyKeyedStore<unknown>>>;
    readonly counters: Readonly<PluginCounters>;
  } {
    return this.state;
  }

  // ── key budget ─────────────────────────────────────────────────────────────────

  /** Keys held in every container together. */
  get keyCount(): number {
    let n = this.state.rows.size;
    for (let i = 0; i < this.storeList.length; i++) n += (this.storeList[i] as KeyedStore<unknown>).size;
    return n;
  }

  /** Appends each container's size (rows first) to `into`. */
  containerSizes(into: number[]): void {
    into.push(this.state.rows.size);
    for (let i = 0; i < this.storeList.length; i++) into.push((this.storeList[i] as KeyedStore<unknown>).size);
  }

  /** The largest container's size: at the cap, this plugin is giving way to the key budget. */
  get largestContainer(): number {
    let n = this.state.rows.size;
    for (let i = 0; i < this.storeList.length; i++) n = Math.max(n, (this.storeList[i] as KeyedStore<unknown>).size);
    return n;
  }

  get keyCap(): number {
    return this.cap;
  }

  // ── change log ─────────────────────────────────────────────────────────────────

  /** A reader of the change log from now on; close it when done, or the log keeps entries for it. */
  openReader(): ChangeCursor {
    return this.log.open();
  }

  /** Marks a reader as having consumed the changes up to `position` (a snapshot slot after its commit). */
  advanceReader(cursor: ChangeCursor, position: number): void {
    this.log.advance(cursor, position);
  }

  closeReader(cursor: ChangeCursor): void {
    this.log.close(cursor);
  }

  /**
   * Calls `visit(key, row)` for each row changed since the cursor (row undefined: deleted; a
   * key may come more than once) and moves the cursor to now. False when the cursor fell off
   * the log: the reader must reread the whole view.
   */
  rowChangesSince(cursor: ChangeCursor, visit: (key: string, row: Row | undefined) => void): boolean {
    const to = this.log.position;
    const rows = this.state.rows;
    const ok = this.log.forEach(cursor.position, to, (container, key) => {
      if (container === ROWS) visit(key, rows.get(key));
    });
    this.log.advance(cursor, to);
    return ok;
  }

  /**
   * Every container key changed since the cursor, as (`'rows'` or the store's name, key), and
   * moves the cursor to now; false when the cursor fell off the log. For readers of whole
   * plugin state (tools, tests); live views use rowChangesSince.
   */
  changesSince(cursor: ChangeCursor, visit: (container: string, key: string) => void): boolean {
    const to = this.log.position;
    const names = ['rows', ...Object.keys(this.state.stores)];
    const ok = this.log.forEach(cursor.position, to, (container, key) =>
      visit(names[container] ?? String(container), key),
    );
    this.log.advance(cursor, to);
    return ok;
  }
}
