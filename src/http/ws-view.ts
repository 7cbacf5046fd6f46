import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { ViewRows, type ViewDelta } from './view-rows.js';
import type { SnapshotReason, SubscriptionId } from './ws-frames.js';
import type { ViewSpec } from './ws-view-spec.js';
import { thrownMessage } from './thrown-message.js';

/** One published update, kept for resume. */
export interface UpdateFrame {
  readonly seq: number;
  readonly text: string;
}

export interface ViewLimits {
  /** Update frames kept for resume. */
  readonly historyFrames: number;
  /**
   * Bytes of update frames kept for resume (whichever limit is hit first). Read at each trim: the
   * view registry lowers it as views are opened, to keep all views' history within its budget.
   */
  readonly historyBytes: number;
}

/**
 * A live view its plugin failed to compute on a tick (or on waking): one failure episode, from
 * the first failed recompute to the next good one.
 */
export interface ViewFailure {
  /** The view's seq when it failed: what subscribers hold is the rows as of it, the last good ones. */
  readonly seq: number;
  /** Recomputes that failed in this episode. */
  count: number;
  /** What the first of them threw, as clients are told it. */
  readonly detail: string;
  /** What the first of them threw, for the plugin's log line when a subscriber joins the view failing. */
  readonly thrown: unknown;
}

/** The update frame of a recovery that changed no row. */
const NO_CHANGE: ViewDelta = { changed: [], removed: [] };

/**
 * The current rows of one live view, its sequence number and a bounded history of update
 * frames. On each tick the rows are brought up to date from the plugin's change log
 * (view-rows.ts: O(changes), with a recompute-and-diff fallback), so an update carries
 * exactly the rows that changed and the keys that left.
 */
export class LiveView {
  seq: number;
  /** The seq this incarnation of the view started at: a resume point below it is from an older one. */
  readonly base: number;
  /** Open subscriptions (WebSocket and SSE); the view lingers a while after the last one leaves. */
  subscribers = 0;
  idleSince: number | null = null;
  /** Set while the plugin's view fails to compute this one (its rows stay the last good ones). */
  failure: ViewFailure | null = null;
  private readonly keyColumns: readonly string[];
  private readonly rows: ViewRows;
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
    this.rows = new ViewRows(spec, runtime, this.keyColumns, nowSeconds);
  }

  get key(): string {
    return this.spec.key;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Recomputes when needed; returns the update frame to publish, or null when nothing in the view changed. */
  refresh(nowSeconds: number): UpdateFrame | null {
    return this.tracked(() => this.rows.refresh(nowSeconds));
  }

  /** The view lost its last subscriber: it stops being refreshed until resume(). */
  suspend(): void {
    this.rows.suspend();
  }

  /**
   * Catches a suspended view up before a subscriber joins: what changed meanwhile becomes one
   * update frame, kept in the history like any other, so a client resuming from before the
   * suspension replays it and one subscribing afresh gets a snapshot of current rows.
   */
  resume(nowSeconds: number): UpdateFrame | null {
    return this.tracked(() => this.rows.resume(nowSeconds));
  }

  /**
   * One refresh or resume, with the failure episode it opens, continues or ends. What it throws
   * is thrown on (the rows are left as they were). The first one to compute again after failing
   * makes an update frame even when no row changed: subscribers told `view_failed` hear that it
   * is over, and a delta from the last good rows, which they kept, makes theirs right again.
   * One that did no work (the plugin did not move) leaves the episode open.
   */
  private tracked(run: () => ViewDelta | null): UpdateFrame | null {
    const work = this.rows.counts.deltas + this.rows.counts.recomputes;
    let delta: ViewDelta | null;
    try {
      delta = run();
    } catch (err) {
      if (this.failure === null) this.failure = { seq: this.seq, count: 1, detail: thrownMessage(err), thrown: err };
      else this.failure.count++;
      throw err;
    }
    if (this.failure === null || this.rows.counts.deltas + this.rows.counts.recomputes === work)
      return this.frameOf(delta);
    this.failure = null;
    return this.frameOf(delta ?? NO_CHANGE);
  }

  /**
   * The `view_failed` error frame telling a subscriber (`id`) that this view fails now: its rows
   * stay those of `seq`, and update frames follow once it computes again. Null when it does not fail.
   */
  failedFrame(id: SubscriptionId | undefined): string | null {
    const f = this.failure;
    if (f === null) return null;
    return JSON.stringify({
      type: 'error',
      error: 'view_failed',
      ident: this.spec.ident,
      view: this.spec.key,
      ...(id === undefined ? {} : { id }),
      seq: f.seq,
      detail: `the view of ${this.spec.ident} failed: ${f.detail}; the rows up to seq ${f.seq} are its last good ones, and updates follow when it computes again`,
    });
  }

  /** Recomputes (not deltas) done for this view: what a view costs the tick beyond its changes. */
  get recomputes(): number {
    return this.rows.counts.recomputes;
  }

  private readonly dropRowsText = (): void => {
    this.rowsText = null;
  };

  private frameOf(delta: ViewDelta | null): UpdateFrame | null {
    if (delta === null) return null;
    const { changed, removed } = delta;
    this.rowsText = null;
    this.seq++;
    const head = JSON.stringify({ type: 'update', ident: this.spec.ident, view: this.spec.key, seq: this.seq });
    const frame = {
      seq: this.seq,
      text: `${head.slice(0, -1)},"rows":[${changed.join(',')}],"removed":[${removed.join(',')}]}`,
    };
    this.remember(frame);
    return frame;
  }

  /**
   * The current rows as a snapshot frame. The joined rows are shared by the snapshots sent in
   * the same event-loop turn (a burst of subscribers) and then let go: kept until the view
   * changed, they were a second copy of every view's rows (1,000 views of 900 KB: 900 MB) for
   * the sake of subscribers that may never come; joining again costs what sending them does.
   */
  snapshotFrame(epoch: string, reason: SnapshotReason, id: SubscriptionId | undefined): string {
    if (this.rowsText === null) {
      this.rowsText = this.rows.ordered().join(',');
      setImmediate(this.dropRowsText);
    }
    const head = JSON.stringify({
      type: 'snapshot',
      ident: this.spec.ident,
      view: this.spec.key,
      ...(id === undefined ? {} : { id }),
      epoch,
      seq: this.seq,
      key: this.keyColumns,
      order: this.spec.query.order,
      reason,
    });
    return `${head.slice(0, -1)},"rows":[${this.rowsText}]}`;
  }

  resumedFrame(epoch: string, from: number, replayed: number, id: SubscriptionId | undefined): string {
    return JSON.stringify({
      type: 'resumed',
      ident: this.spec.ident,
      view: this.spec.key,
      ...(id === undefined ? {} : { id }),
      epoch,
      seq: from,
      replayed,
      key: this.keyColumns,
      order: this.spec.query.order,
    });
  }

  /** The update frames after `seq`, or null when they are not all kept (or `seq` is not of this incarnation). */
  framesAfter(seq: number): readonly UpdateFrame[] | null {
    if (!Number.isSafeInteger(seq) || seq < this.base || seq > this.seq) return null;
    if (seq === this.seq) return [];
    const first = this.history[0];
    if (first === undefined || first.seq > seq + 1) return null;
    return this.history.slice(seq + 1 - first.seq);
  }

  /** Releases the view's change-log reader (the view was retired). */
  close(): void {
    this.rows.close();
  }

  /** Bytes (UTF-16 units) of the update frames kept for resume. */
  get historySize(): number {
    return this.historyBytes;
  }

  /**
   * Lets the oldest frames go until the history is within the limits (as they are now). A frame
   * larger than the byte limit is not kept either: resuming from before it gets a snapshot,
   * which costs the client no more than that frame would have.
   */
  trimHistory(): void {
    const { historyFrames, historyBytes } = this.limits;
    while (this.history.length > historyFrames || this.historyBytes > historyBytes) {
      this.historyBytes -= (this.history.shift() as UpdateFrame).text.length;
    }
  }

  private remember(frame: UpdateFrame): void {
    if (this.limits.historyFrames === 0) return;
    this.history.push(frame);
    this.historyBytes += frame.text.length;
    this.trimHistory();
  }
}
