import type { LiveView, ViewFailure, ViewLimits } from './ws-view.js';

/** What the ViewRegistry (ws-views.ts) is given, and what it tells of a view's failures. */
export interface ViewRegistryOptions extends ViewLimits {
  /** Views open at once (with or without subscribers). */
  readonly maxViews: number;
  /**
   * Bytes of update frames all views keep together (config wsResumeBytes): each view keeps at
   * most `historyBytes` and at most its share of this. Without it, 1,000 views (the default
   * --ws-max-views) of 1 MiB each held a gigabyte. Default: no bound beyond `historyBytes`.
   */
  readonly historyBytesTotal?: number;
  /** How long a view with no subscriber is kept (suspended, not computed) so a reconnecting client can resume. */
  readonly lingerMs: number;
  /** Milliseconds one tick may spend refreshing views before the rest wait for the next tick (default TICK_BUDGET_MS, in ws-views.ts). */
  readonly tickBudgetMs?: number;
  /** A monotonic clock in milliseconds for that budget (default performance.now); tests inject one. */
  readonly cpuNow?: () => number;
  /** Told when a view is retired while failing: its failure episode ends with it, never recovered. */
  readonly onRetiredFailing?: ViewRecovered;
}

/**
 * A view failed to refresh, the first time since it last computed (`view.failure` says since
 * when): its last rows are kept and it is tried again on the next change. Later failures of the
 * same episode only count in `view.failure`; once it computes again, ViewRecovered is told.
 */
export type ViewFailed = (view: LiveView, err: unknown) => void;
/** A view that failed computed again: `failure` is the episode that ended (how many recomputes failed). */
export type ViewRecovered = (view: LiveView, failure: ViewFailure) => void;
