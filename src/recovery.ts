import type { SeqRanges } from '../snapshots/replay-skip.js';
import type { BackfillWindow } from './backfill.js';
import { type BackfillFeedDeps, feedWindow } from './backfill-feed.js';
import { type CatchUpDeps, type CatchUpOutcome, type CatchUpPlan, catchUp } from './catch-up.js';
import { delay, type Clock } from './clock.js';
import { coalesce, enqueueWindow } from './gap-windows.js';
import { errorText } from './logger.js';
import { Progress } from './progress.js';
import { type CoveredAfter, type ReplayThreadOptions, replayAfter } from './startup-replay.js';

export interface RecoveryDeps extends BackfillFeedDeps {
  /** Times the minimum interval between gap backfills. */
  readonly clock: Clock;
  /** Least time between the starts of two gap backfills (ms): suspicions meanwhile are coalesced. */
  readonly gapIntervalMs: number;
  /** How far the history's archive may run behind the bus (ms): see recheckLater; 0 or absent: no rechecks. */
  readonly historyLagMs?: number;
  /**
   * Read and prepare journal records for replay on a second thread (replay-thread.ts), with the
   * default meta (fan-out capped at `maxFanout`); undefined: all on this thread.
   */
  readonly replayThread?: ReplayThreadOptions | undefined;
}

export interface RecoveryCounters {
  /** HTTP requests sent to the history (every page, every retry). */
  historyRequests: number;
  /** Gap backfills run (each fetches the coalesced union of the windows queued before it). */
  gapBackfills: number;
  /** Windows queued for gap backfill (before coalescing). */
  gapWindows: number;
  /** Journal entries replayed from batches the replay thread prepared. */
  replayedOnThread: number;
  /** Replay threads ended for making no progress past --thread-hang-timeout (the main thread replayed the rest). */
  replayThreadHangs: number;
  /** Window tails fetched again once the history had time to archive them (recheckLater). */
  rechecks: number;
}

/**
 * Brings state up to date after downtime: journal replay after the restored snapshot, and
 * datagrepper backfill of windows the journal lacks (at start-up, after a publisher-sequence
 * jump, after a reconnect). Reports progress for /readyz while it works.
 */
export class Recovery {
  /** What is in progress, for /readyz; null when idle. */
  progress: Progress | null = null;
  readonly counters: RecoveryCounters = {
    historyRequests: 0,
    gapBackfills: 0,
    gapWindows: 0,
    replayedOnThread: 0,
    replayThreadHangs: 0,
    rechecks: 0,
  };
  private pending: BackfillWindow[] = [];
  /** Tails of backfilled windows, due to be fetched again (recheckLater). */
  private rechecks: BackfillWindow[] = [];
  private worker: Promise<void> | null = null;
  /** When the last gap backfill started (clock ms); -Infinity before the first. */
  private lastGapStart = Number.NEGATIVE_INFINITY;
  /** The worker is fetching gap windows (not only rechecks). */
  private fillingGaps = false;

  constructor(private readonly deps: RecoveryDeps) {}

  /**
   * True while gap backfills are queued or running: a known or suspected hole is being filled.
   * A recheck (recheckLater) is routine, not a hole: it does not make the instance degraded.
   */
  get filling(): boolean {
    return this.pending.length > 0 || this.fillingGaps;
  }

  /** Settles when queued gap backfills are done (or aborted). */
  drained(): Promise<void> {
    return this.worker ?? Promise.resolve();
  }

  /**
   * Replays the journal after `from`, in slices so HTTP keeps answering, passing over the seqs
   * in `skip` (the restored generation's replaySkip: messages it holds already).
   */
  async replay(from: number, snapshotRestored: boolean, skip: SeqRanges = [], covered?: CoveredAfter): Promise<void> {
    const { journal, log, intake, signal } = this.deps;
    if (!snapshotRestored && journal.firstRetained > 1) {
      log.error(
        { firstRetained: journal.firstRetained },
        'no readable snapshot and the journal was truncated: state before the oldest journal entry is lost; backfill from datagrepper (--datagrepper) to rebuild it',
      );
    }
    const progress = (this.progress = new Progress('replaying journal', Math.max(0, journal.position - from), log));
    await replayAfter(
      { intake, journal, log, signal, replayThread: this.deps.replayThread, counters: this.counters },
      from,
      progress,
      skip,
      covered,
    );
    // Stopped part-way: not a finished replay to report.
    if (signal.aborted) return;
    const done = progress.finish();
    this.progress = null;
    if (done.done > 0 || journal.corrupt > 0)
      log.info({ replayed: done.done, ms: done.ms, rate: done.rate, corrupt: journal.corrupt }, 'journal replayed');
    // Lost messages: an error, with the count, not a field of an info line.
    if (journal.corrupt > 0)
      log.error(
        { corrupt: journal.corrupt },
        'journal records failed their checksum and were skipped: those messages are lost unless --datagrepper backfill brings them back',
      );
  }

  /**
   * Replays into the plugins behind the restored generation (loaded again, or new to the data
   * dir) the journal records the others hold already (catch-up.ts); /readyz shows its progress.
   */
  catchUp(plan: CatchUpPlan, hold: CatchUpDeps['hold']): Promise<CatchUpOutcome[]> {
    const { intake, journal, log, signal } = this.deps;
    return catchUp({ intake, journal, log, signal, hold }, plan, (p) => {
      this.progress = p;
    });
  }

  /** Feeds every message of a datagrepper window, oldest first; retries pages until they succeed (backfill-feed.ts). */
  backfill(window: BackfillWindow, why: string): Promise<void> {
    return feedWindow(this.deps, this.counters, window, why, (progress) => {
      this.progress = progress;
    });
  }

  /**
   * Queues a window for backfill. Gap backfills start at most once per `gapIntervalMs`: every
   * window queued until then is fetched together, as the union of the windows (a few disjoint
   * ranges at most), so a storm of suspicions costs one backfill per interval, not one each.
   */
  fillGap(window: BackfillWindow): void {
    if (!this.deps.datagrepper) return;
    this.counters.gapWindows++;
    // While a backfill waits on a slow history, suspicions keep coming: keep the queue small.
    this.pending = enqueueWindow(this.pending, window);
    this.work();
  }

  /**
   * Fetches what a window held from `historyLagMs` before it was read (`readAt`, epoch seconds)
   * again, once that long has passed since its end or the read, whichever is later: the
   * history archives what the bus carried a little later (datanommer consumes the same bus),
   * so a window read at once, as a gap is when detected and the start-up window ending now,
   * lacked the messages published just before the read, and nothing read them again
   * (datagrepper.md: "messages not yet archived … were missed"). Read twice, a message is a
   * duplicate the journal drops. A recheck is not rechecked.
   */
  recheckLater(window: BackfillWindow, readAt: number): void {
    const { datagrepper, historyLagMs, clock, signal } = this.deps;
    if (!datagrepper || !historyLagMs || signal.aborted) return;
    const lag = historyLagMs / 1000;
    const tail = { start: Math.max(window.start, Math.min(window.end, readAt) - lag), end: window.end };
    void delay(clock, (Math.max(window.end, readAt) + lag) * 1000 - clock.now(), signal).then(() => {
      if (signal.aborted) return;
      this.counters.rechecks++;
      this.rechecks = enqueueWindow(this.rechecks, tail);
      this.work();
    });
  }

  /**
   * backfill(), its failure logged (the data file failed for good: MDB_PANIC) rather than left
   * to reject the worker, which nothing awaits: an unhandled rejection ends the process before
   * the service's own stop says why. False when it failed.
   */
  private async backfillLogged(window: BackfillWindow, why: string): Promise<boolean> {
    try {
      await this.backfill(window, why);
      return true;
    } catch (err) {
      this.deps.log.error({ why, start: window.start, end: window.end, err: errorText(err) }, 'backfill failed');
      return false;
    }
  }

  private work(): void {
    this.worker ??= (async () => {
      const { clock, signal, gapIntervalMs } = this.deps;
      while ((this.pending.length > 0 || this.rechecks.length > 0) && !signal.aborted) {
        await delay(clock, this.lastGapStart + gapIntervalMs - clock.now(), signal);
        if (signal.aborted) break;
        this.lastGapStart = clock.now();
        const windows = coalesce(this.pending);
        const rechecks = coalesce(this.rechecks);
        this.pending = [];
        this.rechecks = [];
        if (windows.length > 0) this.counters.gapBackfills++;
        this.fillingGaps = windows.length > 0;
        try {
          for (const w of windows) {
            const readAt = clock.now() / 1000;
            if (await this.backfillLogged(w, 'gap')) this.recheckLater(w, readAt);
          }
        } finally {
          this.fillingGaps = false;
        }
        for (const w of rechecks) await this.backfillLogged(w, 'recheck');
      }
      this.pending = [];
      this.rechecks = [];
      this.worker = null;
    })();
  }
}
