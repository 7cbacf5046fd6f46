/**
 * How long each plugin holds the event loop while it applies a batch. A plugin's `update` runs
 * synchronously on the main thread: one that takes seconds over a message stalls every HTTP
 * read, WebSocket push and health probe meanwhile (measured: /healthz answered after
 * 3.1–6.9 s), and until now only nodejs_eventloop_lag_max_seconds showed it, naming no one.
 *
 * Timed per plugin per batch, not per message: two clock reads per plugin per batch cost a few
 * microseconds a batch, where per message they would add to the hot path. A batch slower than
 * SLOW_BATCH_MS is remembered for SLOW_REPORT_MS, so readiness can name the plugin. Wall time,
 * not message time: this is about the process, never about plugin state, so replicas may
 * differ here without their views differing.
 */

/** A batch that held the loop this long is worth an operator's attention. */
export const SLOW_BATCH_MS = 1000;
/** How long a slow batch stays in the degraded reason after it happened. */
export const SLOW_REPORT_MS = 5 * 60_000;

/** A monotonic millisecond clock (performance.now in the service; a fake in tests). */
export type Stopwatch = () => number;

export interface SlowBatch {
  readonly ident: string;
  readonly ms: number;
  readonly messages: number;
  /** Stopwatch time the batch ended. */
  readonly at: number;
}

export class ApplyTiming {
  /** Milliseconds spent applying, per plugin index. */
  private readonly spent: Float64Array;
  /** Batches slower than SLOW_BATCH_MS, per plugin index. */
  private readonly slowCounts: Float64Array;
  /** The slowest recent batch per plugin index (the newest if several were slow). */
  private readonly slow: (SlowBatch | null)[];

  constructor(
    private readonly idents: readonly string[],
    readonly now: Stopwatch,
  ) {
    this.spent = new Float64Array(idents.length);
    this.slowCounts = new Float64Array(idents.length);
    this.slow = idents.map(() => null);
  }

  /** Records plugin `i`'s batch of `messages` that started at `start` (a `now()` reading). */
  record(i: number, start: number, messages: number): void {
    const end = this.now();
    const ms = end - start;
    this.spent[i] = (this.spent[i] as number) + ms;
    if (ms < SLOW_BATCH_MS) return;
    this.slowCounts[i] = (this.slowCounts[i] as number) + 1;
    this.slow[i] = { ident: this.idents[i] as string, ms, messages, at: end };
  }

  /** Seconds plugin `i` has spent applying messages. */
  seconds(i: number): number {
    return (this.spent[i] as number) / 1000;
  }

  /** Batches of plugin `i` that took SLOW_BATCH_MS or longer. */
  slowBatches(i: number): number {
    return this.slowCounts[i] as number;
  }

  /** Slow batches of the last SLOW_REPORT_MS, slowest first. */
  recentSlow(): SlowBatch[] {
    const now = this.now();
    const recent = this.slow.filter((s): s is SlowBatch => s !== null && now - s.at < SLOW_REPORT_MS);
    return recent.sort((a, b) => b.ms - a.ms);
  }
}

/** The degraded reason for slow plugins, or null. */
export function slowApplyProblem(recent: readonly SlowBatch[]): string | null {
  if (recent.length === 0) return null;
  const named = recent.map(
    (s) => `${s.ident} (${(s.ms / 1000).toFixed(1)} s for ${s.messages} message${s.messages === 1 ? '' : 's'})`,
  );
  return (
    `plugin${recent.length > 1 ? 's' : ''} held the event loop applying one batch in the last ${SLOW_REPORT_MS / 60_000} min, ` +
    `delaying every read, push and probe meanwhile: ${named.join(', ')}`
  );
}
