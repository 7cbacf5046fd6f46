import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Journal } from '../snapshots/journal.js';
import { backfillPages, type BackfillWindow } from './backfill.js';
import { delay, type Clock } from './clock.js';
import type { EnvelopeLimits } from './envelope-limits.js';
import { coalesce } from './gap-windows.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';
import { Progress } from './progress.js';
import { replayBatches, ReplayThreadError } from './replay-thread.js';

/** Entries whose in-thread replay is timed (the first PROBE_FROM warm the JIT up). */
const PROBE_FROM = 1024;
const PROBE_TO = 2048;
/**
 * Main-thread cost per entry (µs) from which the replay thread pays: what it costs that thread
 * to read, check, decode and derive meta, and the main thread to take a head, on this 2-core box.
 */
const THREAD_WORTH_US = 30;
/** Fewer entries left than this finish in-thread: starting the replay thread costs ~0.1 s. */
const THREADED_REPLAY_MIN = 2048;

export interface RecoveryDeps {
  readonly intake: Intake;
  readonly journal: Journal;
  readonly log: Logger;
  /** datagrepper's /raw URL, or null: no backfill. */
  readonly datagrepper: string | null;
  readonly nowSeconds: () => number;
  /** The bus's bounds on one message, applied to archived copies alike. */
  readonly limits?: Omit<EnvelopeLimits, 'nowSeconds'> | undefined;
  readonly signal: AbortSignal;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Times the minimum interval between gap backfills. */
  readonly clock: Clock;
  /** A message whose apply threw (skipped and counted by the caller). */
  readonly onAcceptError?: (err: unknown, topic: string) => void;
  /** Least time between the starts of two gap backfills (ms): suspicions meanwhile are coalesced. */
  readonly gapIntervalMs: number;
  /**
   * Read and prepare journal records for replay on a second thread (replay-thread.ts), with the
   * default meta (fan-out capped at `maxFanout`); undefined: all on this thread.
   */
  readonly replayThread?:
    | {
        readonly dir: string;
        readonly maxFanout: number;
        /** Main-thread µs per entry from which the thread takes over (default THREAD_WORTH_US). */
        readonly worthUs?: number | undefined;
      }
    | undefined;
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
}

/**
 * Brings state up to date after downtime: journal replay after the restored snapshot, and
 * datagrepper backfill of windows the journal lacks (at start-up, after a publisher-sequence
 * jump, after a reconnect). Reports progress for /readyz while it works.
 */
export class Recovery {
  /** What is in progress, for /readyz; null when idle. */
  progress: Progress | null = null;
  readonly counters: RecoveryCounters = { historyRequests: 0, gapBackfills: 0, gapWindows: 0, replayedOnThread: 0 };
  private pending: BackfillWindow[] = [];
  private worker: Promise<void> | null = null;
  /** When the last gap backfill started (clock ms); -Infinity before the first. */
  private lastGapStart = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: RecoveryDeps) {}

  /** True while gap backfills are queued or running: a known or suspected hole is being filled. */
  get filling(): boolean {
    return this.worker !== null;
  }

  /** Settles when queued gap backfills are done (or aborted). */
  drained(): Promise<void> {
    return this.worker ?? Promise.resolve();
  }

  /** Replays the journal after `from`, in slices so HTTP keeps answering. */
  async replay(from: number, snapshotRestored: boolean): Promise<void> {
    const { journal, log, intake, signal } = this.deps;
    if (!snapshotRestored && journal.firstRetained > 1) {
      log.error(
        { firstRetained: journal.firstRetained },
        'no readable snapshot and the journal was truncated: state before the oldest journal entry is lost; backfill from datagrepper (--datagrepper) to rebuild it',
      );
    }
    const progress = (this.progress = new Progress('replaying journal', Math.max(0, journal.position - from), log));
    const threaded = this.deps.replayThread;
    let last = from;
    let sliceStart = performance.now();
    /** Time spent replaying so far, yields left out (ms). */
    let busy = 0;
    const active = () => busy + (performance.now() - sliceStart);
    // Called when a slice has run 50 ms: HTTP answers between slices, from state that holds
    // every entry replayed so far.
    const pause = async () => {
      intake.applyQueued();
      busy += performance.now() - sliceStart;
      await yieldToLoop();
      sliceStart = performance.now();
    };
    try {
      // In-thread first. Where a long replay remains, the cost per entry of its second thousand
      // (the first warms the JIT) decides whether the replay thread would pay: it takes over
      // only when applying costs the main thread more than preparing costs that thread.
      let probeFrom = 0;
      let useThread = false;
      let n = 0;
      for (const entry of journal.after(last, { remember: true, shape: intake.shapeBounds })) {
        if (signal.aborted) return;
        intake.replay(entry);
        last = entry.seq;
        n++;
        // One clock read per entry serves the progress line and the slice.
        const now = performance.now();
        progress.tick(1, now);
        if (threaded && n === PROBE_FROM) probeFrom = active();
        if (threaded && n === PROBE_TO) {
          // Applied, so its cost is in the measure (REPLAY_BATCH divides PROBE_TO).
          intake.applyQueued();
          const perEntryUs = ((active() - probeFrom) * 1000) / (PROBE_TO - PROBE_FROM);
          if (perEntryUs >= (threaded.worthUs ?? THREAD_WORTH_US) && journal.position - last >= THREADED_REPLAY_MIN) {
            useThread = true;
            break;
          }
        }
        if (now - sliceStart > 50) await pause();
      }
      if (threaded && useThread) {
        try {
          for await (const batch of replayBatches({
            dir: threaded.dir,
            maxFanout: threaded.maxFanout,
            after: last,
            shape: intake.shapeBounds,
          })) {
            journal.corrupt += batch.corrupt;
            intake.counters.fanoutTruncated += batch.truncated;
            for (const entry of batch.entries) {
              if (signal.aborted) return;
              journal.rememberReplayed(entry.id);
              intake.replay(entry);
              last = entry.seq;
            }
            this.counters.replayedOnThread += batch.entries.length;
            const now = performance.now();
            progress.tick(batch.entries.length, now);
            if (now - sliceStart > 50) await pause();
          }
          useThread = false;
        } catch (err) {
          if (!(err instanceof ReplayThreadError)) throw err;
          // Nothing is lost: the rest is read here, from the last entry the thread handed over.
          log.warn({ err, after: last }, 'replay thread failed; replaying the rest on the main thread');
        }
        if (useThread) {
          for (const entry of journal.after(last, { remember: true, shape: intake.shapeBounds })) {
            if (signal.aborted) return;
            intake.replay(entry);
            const now = performance.now();
            progress.tick(1, now);
            if (now - sliceStart > 50) await pause();
          }
        }
      }
    } finally {
      // Whatever ends the loop: the position a snapshot records counts these entries as applied.
      intake.applyQueued();
    }
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

  /** Feeds every message of a datagrepper window, oldest first; retries pages until they succeed. */
  async backfill(window: BackfillWindow, why: string): Promise<void> {
    const { datagrepper: url, log, intake, signal } = this.deps;
    if (!url) return;
    log.info({ why, start: window.start, end: window.end }, 'backfilling from datagrepper');
    let fed = 0;
    try {
      for await (const page of backfillPages(window, {
        url,
        nowSeconds: this.deps.nowSeconds,
        limits: this.deps.limits,
        signal,
        ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
        onRequest: () => void this.counters.historyRequests++,
        onRetry: (info) => {
          intake.counters.backfillRetries++;
          log.warn({ ...info, why }, 'backfill page failed; retrying');
        },
      })) {
        this.progress = new Progress(`backfilling (${why})`, page.pages, log, null);
        this.progress.done = page.page;
        intake.counters.backfillInvalid += page.invalid;
        for (const envelope of page.envelopes) {
          try {
            if (intake.accept(envelope)) {
              fed++;
              intake.counters.backfilled++;
            }
          } catch (err) {
            // One message that breaks the apply path is skipped, never the rest of the backfill.
            this.deps.onAcceptError?.(err, envelope.topic);
          }
        }
        // Applied (after its journal commit) before the next page is fetched: memory stays one page.
        await intake.settled();
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      this.progress = null;
    }
    log.info({ why, fed }, 'backfill done');
  }

  /**
   * Queues a window for backfill. Gap backfills start at most once per `gapIntervalMs`: every
   * window queued until then is fetched together, as the union of the windows (a few disjoint
   * ranges at most), so a storm of suspicions costs one backfill per interval, not one each.
   */
  fillGap(window: BackfillWindow): void {
    if (!this.deps.datagrepper) return;
    this.counters.gapWindows++;
    this.pending.push(window);
    // While a backfill waits on a slow history, suspicions keep coming: keep the queue small.
    if (this.pending.length > 64) this.pending = coalesce(this.pending);
    this.worker ??= (async () => {
      const { clock, signal, gapIntervalMs } = this.deps;
      while (this.pending.length > 0 && !signal.aborted) {
        await delay(clock, this.lastGapStart + gapIntervalMs - clock.now(), signal);
        if (signal.aborted) break;
        this.lastGapStart = clock.now();
        const windows = coalesce(this.pending);
        this.pending = [];
        this.counters.gapBackfills++;
        for (const w of windows) await this.backfill(w, 'gap');
      }
      this.pending = [];
      this.worker = null;
    })();
  }
}
