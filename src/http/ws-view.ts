import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { Row } from '../../actors/row-store.js';
import { PageOutOfRange, queryView } from '../../actors/view-query.js';
import type { SnapshotReason, SubscriptionId } from './ws-frames.js';
import { defaultStop, type ViewSpec } from './ws-view-spec.js';

/** One published update, kept for resume. */
export interface UpdateFrame {
  readonly seq: number;
  readonly text: string;
}

export interface ViewLimits {
  /** Update frames kept for resume. */
  readonly historyFrames: number;
  /** Bytes of update frames kept for resume (whichever limit is hit first). */
  readonly historyBytes: number;
}

/**
 * The current rows of one live view, its sequence number and a bounded history of update
 * frames. The view is recomputed on a tick only when the plugin's state changed (or the
 * clock moved a default `stop` past rows that were hidden), then diffed by row key against
 * the last result, so an update carries exactly the rows that changed and the keys that left.
 */
export class LiveView {
  seq: number;
  /** The seq this incarnation of the view started at: a resume point below it is from an older one. */
  readonly base: number;
  /** Open subscriptions (WebSocket and SSE); the view lingers a while after the last one leaves. */
  subscribers = 0;
  idleSince: number | null = null;
  private readonly keyColumns: readonly string[];
  /** Wire key (JSON of the key columns) → row JSON, in view order. */
  private rows = new Map<string, string>();
  private version = -1;
  private stop: number | undefined;
  private rowsText: string | null = null;
  private readonly history: UpdateFrame[] = [];
  private historyBytes = 0;

  constructor(
    readonly spec: ViewSpec,
    readonly runtime: PluginRuntime,
    seq: number,
    private readonly limits: ViewLimits,
    nowSeconds: number,
  ) {
    this.seq = seq;
    this.base = seq;
    const key = runtime.plugin.definition.key;
    this.keyColumns = key.length > 0 ? key : ['timestamp'];
    this.rows = this.compute(nowSeconds);
  }

  get key(): string {
    return this.spec.key;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Recomputes when needed; returns the update frame to publish, or null when nothing in the view changed. */
  refresh(nowSeconds: number): UpdateFrame | null {
    if (!this.needsCompute(nowSeconds)) return null;
    const next = this.compute(nowSeconds);
    const changed: string[] = [];
    for (const [key, json] of next) if (this.rows.get(key) !== json) changed.push(json);
    const removed: string[] = [];
    for (const key of this.rows.keys()) if (!next.has(key)) removed.push(key);
    this.rows = next;
    this.rowsText = null;
    if (changed.length === 0 && removed.length === 0) return null;
    this.seq++;
    const head = JSON.stringify({ type: 'update', ident: this.spec.ident, view: this.spec.key, seq: this.seq });
    const frame = { seq: this.seq, text: `${head.slice(0, -1)},"rows":[${changed.join(',')}],"removed":[${removed.join(',')}]}` };
    this.remember(frame);
    return frame;
  }

  /** The current rows as a snapshot frame (encoded rows are shared by every snapshot until the next change). */
  snapshotFrame(epoch: string, reason: SnapshotReason, id: SubscriptionId | undefined): string {
    this.rowsText ??= [...this.rows.values()].join(',');
    const head = JSON.stringify({ type: 'snapshot', ident: this.spec.ident, view: this.spec.key, ...(id === undefined ? {} : { id }), epoch, seq: this.seq, key: this.keyColumns, order: this.spec.query.order, reason });
    return `${head.slice(0, -1)},"rows":[${this.rowsText}]}`;
  }

  resumedFrame(epoch: string, from: number, replayed: number, id: SubscriptionId | undefined): string {
    return JSON.stringify({ type: 'resumed', ident: this.spec.ident, view: this.spec.key, ...(id === undefined ? {} : { id }), epoch, seq: from, replayed, key: this.keyColumns, order: this.spec.query.order });
  }

  /** The update frames after `seq`, or null when they are not all kept (or `seq` is not of this incarnation). */
  framesAfter(seq: number): readonly UpdateFrame[] | null {
    if (!Number.isSafeInteger(seq) || seq < this.base || seq > this.seq) return null;
    if (seq === this.seq) return [];
    const first = this.history[0];
    if (first === undefined || first.seq > seq + 1) return null;
    return this.history.slice(seq + 1 - first.seq);
  }

  private needsCompute(nowSeconds: number): boolean {
    if (this.runtime.state.version !== this.version) return true;
    if (this.spec.query.stop !== undefined) return false;
    const stop = defaultStop(this.runtime, nowSeconds);
    if (stop === this.stop) return false;
    // A default view only changes with the clock when rows are stamped past the old stop.
    const newest = this.runtime.state.rows.newestTimestamp;
    if (this.runtime.plugin.definition.view === undefined && (newest === undefined || this.stop === undefined || newest <= this.stop)) {
      this.stop = stop;
      return false;
    }
    return true;
  }

  private compute(nowSeconds: number): Map<string, string> {
    // Recorded first: a custom view that throws is retried on the next change, not every tick.
    this.version = this.runtime.state.version;
    const q = this.spec.query;
    this.stop = q.stop ?? defaultStop(this.runtime, nowSeconds);
    let rows: readonly Row[];
    try {
      rows = queryView(this.runtime, { ...q, stop: this.stop }).rows;
    } catch (err) {
      // HTTP answers 400 for a page past the end; a live view is empty until rows reach it.
      if (!(err instanceof PageOutOfRange)) throw err;
      rows = [];
    }
    const out = new Map<string, string>();
    for (const row of rows) {
      const r = row as unknown as Record<string, unknown>;
      out.set(JSON.stringify(this.keyColumns.map((c) => r[c] ?? null)), JSON.stringify(row));
    }
    return out;
  }

  private remember(frame: UpdateFrame): void {
    const { historyFrames, historyBytes } = this.limits;
    if (historyFrames === 0) return;
    this.history.push(frame);
    this.historyBytes += frame.text.length;
    while (this.history.length > historyFrames || (this.historyBytes > historyBytes && this.history.length > 1)) {
      this.historyBytes -= (this.history.shift() as UpdateFrame).text.length;
    }
  }
}
