import type * as z from 'zod';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { ViewHungBefore } from '../../actors/view-cache.js';
import type { HubRefusals } from './hub-counters.js';
import { DEFAULT_MAX_PAGE_DEPTH, pluginParamsSchema } from './query-params.js';
import { DEFAULT_MAX_NEW_VIEWS_PER_IP, ViewBudget } from './view-budget.js';
import type { HubOptions } from './ws-connection.js';
import type { ResumePoint, SnapshotReason } from './ws-frames.js';
import { thrownMessage } from './thrown-message.js';
import type { ViewFailureVia } from './view-failure-log.js';
import type { LiveView } from './ws-view.js';
import { viewSpecOf, type ViewSpec } from './ws-view-spec.js';
import { TooManyNewViews, TooManyViews, ViewRegistry, type ViewFailed, type ViewRecovered } from './ws-views.js';

/** Bytes of update frames one live view keeps for resume at most (and at most its share of config wsResumeBytes). */
export const VIEW_HISTORY_BYTES = 1024 * 1024;
/** The global cap on live views (config wsMaxViews); each client IP may pin at most wsMaxSubscriptionsPerIp of them. */
const DEFAULT_MAX_VIEWS = 1000;

/** Why a view was not opened for a subscriber: the error code its client is sent, and the detail. */
export interface ViewRefusal {
  readonly code: 'too_many_views' | 'too_many_new_views' | 'view_failed' | 'view_hung';
  readonly detail: string;
}

/**
 * The live views as WebSocket subscriptions and SSE streams open them: their parameters checked
 * as `/api/<ident>` checks them, the per-IP budget of new views, and what a subscriber is sent
 * first (a replay of the frames it missed, or a snapshot).
 */
export class HubViews {
  readonly budget: ViewBudget;
  readonly maxPageDepth: number;
  private readonly registry: ViewRegistry;
  private readonly schemas: Map<string, z.ZodObject>;
  private readonly now: () => number;
  /** Views whose failure episode began on this tick with subscribers to tell (taken by takeFailed()). */
  private failedNow: LiveView[] = [];
  /**
   * Logged once per failure episode, not per recompute: a broken view logged a warning on every
   * tick that found its plugin moved (up to 10 a second at the default --ws-tick-ms), and a
   * custom one each second besides, as the clock moved its default stop, on a quiet bus too.
   * One line, the plugin's (view-failure-log.ts) with the view's fields: it was that line and one
   * of the view's own, the same stack twice.
   */
  private readonly viewFailed: ViewFailed = (view, err) => {
    this.options.onViewFailed(view.spec.ident, err, 'live_view', { view: view.key, seq: view.seq });
    // A view woken by a subscriber has none yet: that one is told after its first frames (WsSubscriptions, SseStreams).
    if (view.subscribers > 0) this.failedNow.push(view);
  };
  private readonly viewRecovered: ViewRecovered = (view, failure) =>
    this.options.log?.(
      'info',
      { view: view.key, plugin: view.spec.ident, failures: failure.count, since_seq: failure.seq, seq: view.seq },
      `live view computes again after ${failure.count} failed recomputes`,
    );
  /** The episode's end all the same: without it the log said the view was failing and never that it stopped. */
  private readonly viewRetiredFailing: ViewRecovered = (view, failure) =>
    this.options.log?.(
      'info',
      { view: view.key, plugin: view.spec.ident, failures: failure.count, since_seq: failure.seq, seq: view.seq },
      `live view retired while failing, after ${failure.count} failed recomputes; its failure ends with it`,
    );

  constructor(
    host: PluginHost,
    private readonly epoch: string,
    private readonly options: HubOptions,
    private readonly refused: HubRefusals,
  ) {
    this.now = options.now;
    this.schemas = new Map(host.runtimes.map((r) => [r.ident, pluginParamsSchema(r.plugin)]));
    this.registry = new ViewRegistry({
      historyFrames: options.resumeFrames,
      historyBytes: VIEW_HISTORY_BYTES,
      ...(options.resumeBytes === undefined ? {} : { historyBytesTotal: options.resumeBytes }),
      maxViews: options.maxViews ?? DEFAULT_MAX_VIEWS,
      lingerMs: options.lingerMs ?? 60_000,
      onRetiredFailing: this.viewRetiredFailing,
    });
    this.budget = new ViewBudget(options.maxNewViewsPerIp ?? DEFAULT_MAX_NEW_VIEWS_PER_IP, options.now);
    this.maxPageDepth = options.maxPageDepth ?? DEFAULT_MAX_PAGE_DEPTH;
  }

  /** Work done for live views: created, refreshed and recomputed by ticks, woken; how many are watched or idle, how many retired ones are remembered, and the bytes of history kept for resume. */
  stats(): ViewRegistry['stats'] &
    ReturnType<ViewRegistry['counts']> & { readonly retired: number; readonly historyBytes: number } {
    return {
      ...this.registry.stats,
      ...this.registry.counts(),
      retired: this.registry.retiredSize,
      historyBytes: this.registry.historyBytes(),
    };
  }

  get size(): number {
    return this.registry.size;
  }

  /** Subscriptions (WebSocket and SSE) to any view of `ident`. */
  subscribers(ident: string): number {
    return this.registry.subscribers(ident);
  }

  /** Recomputes the views whose plugin changed: one coalesced update frame per view. */
  tick(now: number): ReturnType<ViewRegistry['tick']> {
    return this.registry.tick(now, this.viewFailed, this.viewRecovered);
  }

  /** The watched views that began failing since the last call: their subscribers are to be told. */
  takeFailed(): readonly LiveView[] {
    if (this.failedNow.length === 0) return [];
    const failed = this.failedNow;
    this.failedNow = [];
    return failed;
  }

  release(view: LiveView, now: number): void {
    this.registry.release(view, now);
  }

  /** Validates subscription parameters as `/api/<ident>` does, the page depth bound included. */
  specOf(runtime: PluginRuntime, params: Parameters<typeof viewSpecOf>[2]): ViewSpec {
    return viewSpecOf(runtime, this.schemas.get(runtime.ident) as z.ZodObject, params, this.maxPageDepth);
  }

  /**
   * The view with one more subscriber, or why not (counted as a refusal when a limit said no).
   * `via`: who asked, for the log line of a view that failed to compute.
   */
  open(
    spec: ViewSpec,
    runtime: PluginRuntime,
    ip: string,
    via: Extract<ViewFailureVia, 'websocket' | 'sse'>,
  ): { view: LiveView } | ViewRefusal {
    try {
      let began = false;
      const view = this.registry.acquire(
        spec,
        runtime,
        this.now(),
        () => this.budget.take(ip),
        (v, err) => {
          began = true;
          this.viewFailed(v, err);
        },
        this.viewRecovered,
      );
      // Joined failing (its subscribers' view, or a suspended one that wakes failing still). One
      // whose failure began waking it now was counted with that line ('live_view').
      if (!began) this.joined(view, via);
      return { view };
    } catch (err) {
      if (err instanceof TooManyViews) {
        this.refused.ws_views++;
        return { code: 'too_many_views', detail: err.message };
      }
      if (err instanceof TooManyNewViews) {
        this.refused.ws_new_views_per_ip++;
        return { code: 'too_many_new_views', detail: this.budget.refusal(ip) };
      }
      if (err instanceof ViewHungBefore) return { code: 'view_hung', detail: err.message };
      // The new view's first compute failed: no episode began, so nothing else logs it.
      this.options.onViewFailed(runtime.ident, err, via);
      return { code: 'view_failed', detail: `the view of ${runtime.ident} failed: ${thrownMessage(err)}` };
    }
  }

  /**
   * A subscriber joined `view` (or asked again for the one it holds): when it fails, that one is
   * told view_failed, an answer of the failure as HTTP's repeated ones are, and counted toward
   * the plugin's next line as they are. Counted when asked, as an HTTP 500 is when made whether
   * or not its client reads it: a slow connection's frames wait for its resync (ws-pressure.ts),
   * which tells it then if the view fails still.
   */
  joined(view: LiveView, via: Extract<ViewFailureVia, 'websocket' | 'sse'>): void {
    if (view.failure !== null) this.options.onViewFailed(view.spec.ident, view.failure.thrown, via);
  }

  /** What a new subscriber is sent first: the frames after its resume point when this view still has them, else a snapshot. */
  plan(
    view: LiveView,
    resume: ResumePoint | null,
  ): { kind: 'replay'; from: number } | { kind: 'snapshot'; reason: SnapshotReason } {
    if (resume === null) return { kind: 'snapshot', reason: 'subscribe' };
    if (resume.epoch !== this.epoch) return { kind: 'snapshot', reason: 'resume_epoch' };
    return view.framesAfter(resume.seq) === null
      ? { kind: 'snapshot', reason: 'resume_gap' }
      : { kind: 'replay', from: resume.seq };
  }
}
