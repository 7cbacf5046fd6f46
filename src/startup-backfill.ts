import { parseInterval } from '../actors/interval.js';
import { delay, type Clock } from './clock.js';
import type { Config } from './config.js';
import { errorText, type Logger } from './logger.js';
import type { Recovery } from './recovery.js';

export interface StartupBackfillDeps {
  readonly config: Pick<Config, 'backfillOverlap' | 'journalMaxAge' | 'readyTimeout' | 'datagrepper'>;
  readonly log: Logger;
  readonly clock: Clock;
  readonly recovery: Recovery;
  /** Epoch seconds of the newest message the state holds after replay (0: none). */
  readonly newestTimestamp: number;
  readonly signal: AbortSignal;
}

/**
 * The start-up backfill from datagrepper: what the journal lacks since the newest message (less
 * the overlap), or the journal's whole age on an empty start. A history that is slow or down
 * holds the start for at most `readyTimeout` seconds: then run() returns and the backfill goes on
 * in the background (`pending`, which /readyz reports as degraded; stop() and close() wait for `ended`).
 */
export class StartupBackfill {
  pending: Promise<void> | null = null;
  /**
   * The backfill however it ends, never rejecting: stop() and close() wait for it once aborted,
   * before the store closes. `pending` is set only once run() stops waiting at --ready-timeout:
   * a stop before then waited for nothing, and close() never did (the backfill ended on its own).
   */
  ended: Promise<void> = Promise.resolve();
  /** Epoch seconds the start-up window ends at, once run() has cut it (null before, or without one). */
  windowEnd: number | null = null;

  async run(d: StartupBackfillDeps): Promise<void> {
    const { config, log, recovery, signal } = d;
    const end = d.clock.now() / 1000;
    this.windowEnd = end;
    const newest = d.newestTimestamp;
    // The overlap counts back from the newest message or the clock, whichever is earlier: a
    // message dated ahead of the clock (a publisher up to --max-clock-skew ahead, this clock set
    // back) made the window start after it ended, which a history refuses (400), retried for
    // as long as the service ran, degraded. The gap windows count back the same way.
    const start =
      newest > 0
        ? Math.min(newest, end) - config.backfillOverlap
        : end - parseInterval(config.journalMaxAge, 'journalMaxAge');
    let finished = false;
    const fill = recovery.backfill({ start, end }, 'start-up').then(
      () => {
        finished = true;
        // Read from `end` on: the clock when the window was cut.
        recovery.recheckLater({ start, end }, end);
        if (this.pending && !signal.aborted)
          log.info('start-up backfill finished in the background; no longer degraded');
        this.pending = null;
      },
      (err: unknown) => {
        finished = true;
        this.pending = null;
        log.error({ err: errorText(err) }, 'start-up backfill failed');
      },
    );
    this.ended = fill;
    const bound = new AbortController();
    await Promise.race([fill, delay(d.clock, config.readyTimeout * 1000, AbortSignal.any([signal, bound.signal]))]);
    bound.abort();
    if (finished || signal.aborted) return;
    this.pending = fill;
    log.warn(
      {
        readyTimeout: config.readyTimeout,
        datagrepper: config.datagrepper,
        progress: recovery.progress?.describe() ?? null,
      },
      'history is slow or down: consuming the bus live now (ready, degraded); the start-up backfill goes on in the background',
    );
  }
}
