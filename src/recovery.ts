import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Journal } from '../snapshots/journal.js';
import { backfillPages, type BackfillWindow } from './backfill.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';
import { Progress } from './progress.js';

export interface RecoveryDeps {
  readonly intake: Intake;
  readonly journal: Journal;
  readonly log: Logger;
  /** datagrepper's /raw URL, or null: no backfill. */
  readonly datagrepper: string | null;
  readonly nowSeconds: () => number;
  readonly signal: AbortSignal;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * Brings state up to date after downtime: journal replay after the restored snapshot, and
 * datagrepper backfill of windows the journal lacks (at start-up, after a publisher-sequence
 * jump, after a reconnect). Reports progress for /readyz while it works.
 */
export class Recovery {
  /** What is in progress, for /readyz; null when idle. */
  progress: Progress | null = null;
  private pending: BackfillWindow[] = [];
  private worker: Promise<void> | null = null;

  constructor(private readonly deps: RecoveryDeps) {}

  /** True while gap backfills are queued or running: the service is not ready with a known hole. */
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
      log.error({ firstRetained: journal.firstRetained }, 'no readable snapshot and the journal was truncated: state before the oldest journal entry is lost; backfill from datagrepper (--datagrepper) to rebuild it');
    }
    const progress = (this.progress = new Progress('replaying journal', Math.max(0, journal.position - from), log));
    let sliceStart = performance.now();
    for (const entry of journal.after(from)) {
      if (signal.aborted) return;
      intake.replay(entry);
      progress.tick();
      if (performance.now() - sliceStart > 50) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
    const done = progress.finish();
    this.progress = null;
    if (done.done > 0 || journal.corrupt > 0) log.info({ replayed: done.done, ms: done.ms, rate: done.rate, corrupt: journal.corrupt }, 'journal replayed');
    // Lost messages: an error, with the count, not a field of an info line.
    if (journal.corrupt > 0) log.error({ corrupt: journal.corrupt }, 'journal records failed their checksum and were skipped: those messages are lost unless --datagrepper backfill brings them back');
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
        signal,
        ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
        onRetry: (info) => {
          intake.counters.backfillRetries++;
          log.warn({ ...info, why }, 'backfill page failed; retrying');
        },
      })) {
        this.progress = new Progress(`backfilling (${why})`, page.pages, log, null);
        this.progress.done = page.page;
        intake.counters.backfillInvalid += page.invalid;
        for (const envelope of page.envelopes) {
          if (intake.accept(envelope)) {
            fed++;
            intake.counters.backfilled++;
          }
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      this.progress = null;
    }
    log.info({ why, fed }, 'backfill done');
  }

  /** Queues a window for backfill; windows queued while one runs are merged into the next. */
  fillGap(window: BackfillWindow): void {
    if (!this.deps.datagrepper) return;
    this.pending.push(window);
    this.worker ??= (async () => {
      while (this.pending.length > 0 && !this.deps.signal.aborted) {
        const start = Math.min(...this.pending.map((w) => w.start));
        const end = Math.max(...this.pending.map((w) => w.end));
        this.pending = [];
        await this.backfill({ start, end }, 'gap');
      }
      this.worker = null;
    })();
  }
}
