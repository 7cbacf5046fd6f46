/**
 * Whether a plugin's view is failing now, for the health checks (/readyz `degraded`) and the
 * statscache_plugin_view_failing gauge: a view that throws answers `500 view_failed` to every
 * query that meets it, and the counter and log line alone left the probes saying all was well.
 *
 * The rule, per parameter set (paramsKey) of the view, over every answer that goes through the
 * runtime's query path (HTTP, WebSocket and SSE share it, and its failure memo):
 * - an answer that failed (the view or its viewIsRows threw, gave too many rows, or a promise)
 *   marks the set, with what it threw, the state (change-log position) and the message time;
 * - an answer with the same parameters that succeeds clears it (at any state);
 * - once the state has moved past the failure's, the set is forgotten after
 *   VIEW_FAILING_FORGET_SECONDS of message time without failing again: a panel still polled fails
 *   again at the new state and stays marked, parameters one client tried once age out. While the
 *   state stands, the failure is known to hold (views are deterministic), so it is kept.
 * A 400 (bad_parameter, a page past the last) never reaches the view, so never marks; nor do
 * parameters refused for a hang in an earlier run (view_hung: their own story), nor the row count
 * of /plugins, which calls the view without the client's parameters.
 */

/** Message-time seconds a failed parameter set stays counted after the state moved, unless it fails again. */
export const VIEW_FAILING_FORGET_SECONDS = 600;
/** Failing parameter sets kept per plugin (the latest failures): a client trying values cannot grow it. */
export const MAX_FAILING_SETS = 16;

interface FailedSet {
  readonly error: unknown;
  readonly position: number;
  /** Message time of the failure, or null before any message (the countdown starts with the first). */
  at: number | null;
}

/** What a plugin's failing view is reported with: how many parameter sets fail, and the latest error. */
export interface ViewFailingNow {
  readonly sets: number;
  readonly error: unknown;
}

export class ViewFailing {
  private readonly sets = new Map<string, FailedSet>();

  /** Nothing marked: the query path skips its bookkeeping (a Map lookup per answer otherwise). */
  get empty(): boolean {
    return this.sets.size === 0;
  }

  failed(key: string, error: unknown, position: number, at: number): void {
    // Latest last, so the bound drops the oldest and current() reports the newest error.
    this.sets.delete(key);
    if (this.sets.size >= MAX_FAILING_SETS) {
      const oldest = this.sets.keys().next().value as string;
      this.sets.delete(oldest);
    }
    this.sets.set(key, { error, position, at: Number.isFinite(at) ? at : null });
  }

  succeeded(key: string): void {
    this.sets.delete(key);
  }

  /** The failure counted at this state and message time (forgetting those the rule lets go), or null. */
  current(position: number, at: number): ViewFailingNow | null {
    if (this.sets.size === 0) return null;
    let latest: FailedSet | undefined;
    for (const [key, set] of this.sets) {
      if (set.position === position) {
        latest = set;
        continue;
      }
      if (set.at === null) {
        if (Number.isFinite(at)) set.at = at;
      } else if (at - set.at >= VIEW_FAILING_FORGET_SECONDS) {
        this.sets.delete(key);
        continue;
      }
      latest = set;
    }
    return latest === undefined ? null : { sets: this.sets.size, error: latest.error };
  }
}
