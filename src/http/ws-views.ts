import { forgetOldest } from '../forget-oldest.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { LiveView, type UpdateFrame } from './ws-view.js';
import type { ViewSpec } from './ws-view-spec.js';
import type { ViewFailed, ViewRecovered, ViewRegistryOptions } from './ws-views-options.js';

export type { ViewFailed, ViewRecovered, ViewRegistryOptions } from './ws-views-options.js';

/**
 * A tick's time for refreshing views. Views are bounded in number, not in cost: 1,000 views of
 * deep pages, each recomputed whenever its plugin changed, held the event loop 1.3 s per tick.
 * Past this, the views not yet refreshed wait for the next tick, which starts with them.
 */
export const TICK_BUDGET_MS = 25;

/** Retired views whose last seq is remembered, so a re-created view never reuses a seq. */
export const MAX_RETIRED = 10_000;

export class TooManyViews extends Error {}
/** The client may not have another view computed now (its ViewBudget is spent). */
export class TooManyNewViews extends Error {}

/**
 * Every live view, shared by all subscribers of the same plugin + parameters. A view with no
 * subscriber lingers for `lingerMs` (resume across a dropped connection), then is retired;
 * re-creating it later continues above its last seq, so a stale resume point can only ever
 * miss the history and get a fresh snapshot, never a wrong replay. A lingering view is
 * suspended, not refreshed: a tick's work is bounded by the views someone watches, however
 * many a client opened and left. It is caught up when a subscriber comes back.
 */
export class ViewRegistry {
  private readonly views = new Map<string, LiveView>();
  private readonly retired = new Map<string, number>();
  private forgotRetired = false;
  private highestSeq = 0;
  /** What every view's history is trimmed to now: the options, with historyBytes lowered to its share. */
  private readonly limits: { historyFrames: number; historyBytes: number };
  /**
   * Work done for views (tests and metrics read it): views computed on creation, refreshed by
   * ticks, recomputed in full by ticks or on waking, and woken from suspension; `lastTick` is
   * the refreshes and recomputes of the latest tick alone.
   */
  readonly stats = {
    created: 0,
    refreshed: 0,
    recomputed: 0,
    woken: 0,
    /** Refreshes a tick left to the next one, its budget spent. */
    deferred: 0,
    lastTick: { refreshed: 0, recomputed: 0 },
  };
  /** Where the next tick starts among the watched views: after the last one refreshed. */
  private nextIndex = 0;

  constructor(private readonly options: ViewRegistryOptions) {
    this.limits = { historyFrames: options.historyFrames, historyBytes: options.historyBytes };
  }

  /** Bytes (UTF-16 units) of update frames all views keep for resume. */
  historyBytes(): number {
    let n = 0;
    for (const v of this.views.values()) n += v.historySize;
    return n;
  }

  get size(): number {
    return this.views.size;
  }

  /** Retired views whose last seq is remembered (at most MAX_RETIRED: their keys come from clients). */
  get retiredSize(): number {
    return this.retired.size;
  }

  get(key: string): LiveView | undefined {
    return this.views.get(key);
  }

  /**
   * The view for `spec` with one more subscriber. Creating it, or waking it from suspension,
   * computes it: `mayCompute` (the client's ViewBudget) is asked first and, when it says no,
   * TooManyNewViews is thrown; joining a view someone watches asks nothing. Also throws
   * TooManyViews, or what a custom view throws on creation (a failure waking it is reported to
   * `onError` and the view keeps its rows, as on a tick).
   */
  acquire(
    spec: ViewSpec,
    runtime: PluginRuntime,
    nowMs: number,
    mayCompute: () => boolean,
    onError: ViewFailed,
    onRecovered: ViewRecovered = () => {},
  ): LiveView {
    let view = this.views.get(spec.key);
    if (!view) {
      if (this.views.size >= this.options.maxViews && !this.retireOldestIdle()) {
        throw new TooManyViews(
          `the server has ${this.views.size} live views open, its limit; try again later or reuse parameters other clients use`,
        );
      }
      if (!mayCompute()) throw new TooManyNewViews();
      const last = this.retired.get(spec.key);
      const start = last !== undefined ? last + 1 : this.forgotRetired ? this.highestSeq + 1 : 0;
      view = new LiveView(spec, runtime, start, this.limits, nowMs / 1000);
      this.stats.created++;
      this.retired.delete(spec.key);
      this.views.set(spec.key, view);
      this.shareHistory();
      this.highestSeq = Math.max(this.highestSeq, start);
    } else if (view.subscribers === 0) {
      if (!mayCompute()) throw new TooManyNewViews();
      this.wake(view, nowMs, onError, onRecovered);
    }
    view.subscribers++;
    view.idleSince = null;
    return view;
  }

  release(view: LiveView, nowMs: number): void {
    view.subscribers = Math.max(0, view.subscribers - 1);
    if (view.subscribers > 0) return;
    view.idleSince = nowMs;
    view.suspend();
  }

  /**
   * Refreshes the watched views that may have changed, within the tick's budget (the rest first
   * on the next tick: their frames come a tick later, nothing is lost); retires views idle past
   * the linger time.
   */
  tick(
    nowMs: number,
    onError: ViewFailed,
    onRecovered: ViewRecovered = () => {},
  ): { view: LiveView; frame: UpdateFrame }[] {
    const out: { view: LiveView; frame: UpdateFrame }[] = [];
    const work = { refreshed: 0, recomputed: 0 };
    const watched: LiveView[] = [];
    for (const view of this.views.values()) {
      if (view.idleSince === null) watched.push(view);
      else if (nowMs - view.idleSince >= this.options.lingerMs) this.retire(view);
    }
    const cpuNow = this.options.cpuNow ?? (() => performance.now());
    const budget = this.options.tickBudgetMs ?? TICK_BUDGET_MS;
    const started = cpuNow();
    const n = watched.length;
    const from = n === 0 ? 0 : this.nextIndex % n;
    this.nextIndex = from;
    for (let k = 0; k < n; k++) {
      if (k > 0 && cpuNow() - started > budget) {
        this.nextIndex = (from + k) % n;
        this.stats.deferred += n - k;
        break;
      }
      const view = watched[(from + k) % n] as LiveView;
      work.refreshed++;
      const before = view.recomputes;
      const failing = view.failure;
      let frame: UpdateFrame | null;
      try {
        frame = view.refresh(nowMs / 1000);
      } catch (err) {
        if (failing === null) onError(view, err);
        continue;
      } finally {
        work.recomputed += view.recomputes - before;
      }
      if (failing !== null && view.failure === null) onRecovered(view, failing);
      if (frame) {
        out.push({ view, frame });
        if (frame.seq > this.highestSeq) this.highestSeq = frame.seq;
      }
    }
    this.stats.refreshed += work.refreshed;
    this.stats.recomputed += work.recomputed;
    this.stats.lastTick = work;
    return out;
  }

  /** Views someone watches, views lingering (suspended) with no subscriber, and views whose plugin fails to compute them. */
  counts(): { watched: number; idle: number; failing: number } {
    let idle = 0;
    let failing = 0;
    for (const v of this.views.values()) {
      if (v.idleSince !== null) idle++;
      if (v.failure !== null) failing++;
    }
    return { watched: this.views.size - idle, idle, failing };
  }

  /** Catches a suspended view up; its catch-up frame goes to the history (nobody is subscribed to publish to). */
  private wake(view: LiveView, nowMs: number, onError: ViewFailed, onRecovered: ViewRecovered): void {
    this.stats.woken++;
    const before = view.recomputes;
    const failing = view.failure;
    try {
      const frame = view.resume(nowMs / 1000);
      if (frame && frame.seq > this.highestSeq) this.highestSeq = frame.seq;
    } catch (err) {
      if (failing === null) onError(view, err);
    } finally {
      this.stats.recomputed += view.recomputes - before;
    }
    if (failing !== null && view.failure === null) onRecovered(view, failing);
  }

  subscribers(ident: string): number {
    let n = 0;
    for (const v of this.views.values()) if (v.spec.ident === ident) n += v.subscribers;
    return n;
  }

  private retireOldestIdle(): boolean {
    let oldest: LiveView | undefined;
    for (const v of this.views.values())
      if (v.idleSince !== null && (oldest === undefined || v.idleSince < (oldest.idleSince as number))) oldest = v;
    if (!oldest) return false;
    this.retire(oldest);
    return true;
  }

  /**
   * Each view's share of the history budget, recomputed as views are opened; lowered, every view
   * is trimmed to it at once (a view not refreshed, lingering, would otherwise keep its old share).
   * Raised as views retire, it applies from their next frames.
   */
  private shareHistory(): void {
    const total = this.options.historyBytesTotal;
    if (total === undefined) return;
    const share = Math.min(this.options.historyBytes, Math.floor(total / Math.max(1, this.views.size)));
    const lowered = share < this.limits.historyBytes;
    this.limits.historyBytes = share;
    if (lowered) for (const v of this.views.values()) v.trimHistory();
  }

  private retire(view: LiveView): void {
    if (view.failure !== null) this.options.onRetiredFailing?.(view, view.failure);
    view.close();
    this.views.delete(view.key);
    this.shareHistory();
    this.retired.set(view.key, view.seq);
    if (this.retired.size > MAX_RETIRED) {
      forgetOldest(this.retired);
      this.forgotRetired = true;
    }
  }
}
