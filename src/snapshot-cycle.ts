import { SnapshotCancelledError, type Snapshotter, type SnapshotReport } from '../snapshots/snapshotter.js';
import { errorText } from './logger.js';
import type { SnapshotFailure } from './readiness.js';
import { type RetireTrimDeps, retentionWaits, retireSlots, trimCoveredJournal } from './snapshot-retire-trim.js';

const noop = (): void => undefined;

export interface SnapshotCycleDeps extends RetireTrimDeps {
  readonly snapshotter: Snapshotter;
  /** Journal damage is an error to log only once the service runs (replay reports its own). */
  readonly running: () => boolean;
}

/**
 * One snapshot and what it allows afterwards: the journal it covers is trimmed, slots past a
 * lowered --snapshot-generations retired. Keeps what health and metrics say about snapshots
 * (the last report, failing since when, how many failed). The retirement and trim themselves
 * are snapshot-retire-trim.ts's.
 */
export class SnapshotCycle {
  last: SnapshotReport | null = null;
  /** Since when snapshots fail, and why; null after one succeeds. */
  failure: SnapshotFailure | null = null;
  /** Snapshots that failed, for /metrics. */
  failures = 0;
  /** journal.corrupt when last logged: new damage found by reads is logged as it appears. */
  private corruptLogged = 0;

  /** Snapshots in progress, their slot retirement and journal trim included, settled however they end. */
  readonly #taking = new Set<Promise<unknown>>();
  #closed = false;
  /** Aborted by close({ cancel }): the journal trim in progress stops at its next step. */
  readonly #cancel = new AbortController();
  /** Snapshots not yet written (intake settling, or the write): the periodic timer starts none meanwhile. */
  #writing = 0;
  /** The retirement and trim running, and the one more run asked for by snapshots written meanwhile. */
  #after: Promise<void> | null = null;
  #again: Promise<void> | null = null;

  constructor(private readonly deps: SnapshotCycleDeps) {}

  /** Damage met so far (by the start-up replay, which logged it itself) is not logged again. */
  damageSeen(): void {
    this.corruptLogged = this.deps.journal.corrupt;
  }

  /**
   * The periodic timer's snapshot; none (null) while another is still being written. Queued
   * behind it (Snapshotter.take serialises), each tick's took another turn of the disk: with
   * writes slower than --snapshot-interval the queue only grew. The next tick takes what this
   * one would have; a skipped tick is no snapshot, so /metrics and /healthz count none.
   */
  periodic(): Promise<SnapshotReport> | null {
    if (this.#writing > 0) {
      this.deps.log.debug({ writing: this.#writing }, 'periodic snapshot skipped: one is still being written');
      return null;
    }
    return this.take();
  }

  take(): Promise<SnapshotReport> {
    if (this.#closed) return Promise.reject(new SnapshotCancelledError(true));
    const taking = this.#take();
    const settled = taking.catch(() => undefined);
    this.#taking.add(settled);
    void settled.then(() => this.#taking.delete(settled));
    return taking;
  }

  /**
   * No snapshot starts from now on; settles once those in progress have ended. close() closed
   * the store under a periodic or admin snapshot still writing: it failed reading the closed
   * store, and lmdb-js's read-transaction timer then threw in the embedder's process (uncaught).
   * With `cancel` (Service.close()), the one being written is given up at its next chunk
   * boundary (Snapshotter.cancel) rather than waited out: a large state's takes many turns. So
   * are the slot retirement and the journal trim after a written one, at their next step (the
   * next snapshot's go on with them). stop() cancels neither: its final snapshot is serialised after the write.
   */
  async close(options: { readonly cancel?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (options.cancel === true) {
      this.deps.snapshotter.cancel();
      this.#cancel.abort();
    }
    // The steps a snapshot written during a run left to the next one (afterSnapshot) are waited for too.
    while (this.#taking.size > 0 || this.#after !== null || this.#again !== null)
      await Promise.all([...this.#taking, this.#after, this.#again]);
  }

  async #take(): Promise<SnapshotReport> {
    const { intake, snapshotter, journal, log, clock } = this.deps;
    this.logNewCorruption();
    try {
      let report: SnapshotReport;
      this.#writing++;
      try {
        // Everything accepted so far goes into this snapshot rather than the journal tail.
        await intake.settled();
        report = await snapshotter.take({ writeUnchanged: () => retentionWaits(this.deps) });
      } finally {
        this.#writing--;
      }
      this.last = report;
      if (report.written + report.removed > 0) log.debug({ ...report }, 'snapshot written');
      // What the snapshot covers is on disk; held journal records are written now.
      const unwritten = journal.backlog.status();
      await journal.coveredBySnapshot(report.journalSeq);
      if (unwritten !== null && unwritten.dropped > 0 && journal.backlog.status() === null)
        log.warn(
          { journalSeq: report.journalSeq, dropped: unwritten.dropped },
          'a snapshot holds the messages let go past the journal hold: all accepted messages are on disk',
        );
      if (this.failure !== null) {
        log.warn({ failingSince: new Date(this.failure.since).toISOString() }, 'snapshots succeed again');
        this.failure = null;
      }
      await this.afterSnapshot();
      return report;
    } catch (err) {
      // The service is closing (close()): no failure, nothing for health or metrics to count.
      if (err instanceof SnapshotCancelledError) {
        log.info(
          { newestGeneration: snapshotter.currentGeneration },
          'snapshot cancelled: the service is closing; the previous generation and the journal hold every message',
        );
        throw err;
      }
      this.failures++;
      this.failure = {
        since: this.failure?.since ?? clock.now(),
        error: err instanceof Error ? err.message : String(err),
      };
      log.error({ err: errorText(err) }, 'snapshot failed; changes kept for the next one');
      throw err;
    }
  }

  /**
   * The steps after a snapshot, one run at a time. Two side by side (a periodic snapshot
   * written while an admin one's retirement ran) listed the same slots: the second cleared none,
   * dropped the meta again and logged a second removal; two trims raced over one journal. A
   * snapshot written while a run goes on asks for one more after it, shared by all written
   * meanwhile: it reads the store when it starts, so it covers the newest of them. That
   * snapshot's take() returns once it is on disk, not after the run ahead (stop()'s final
   * snapshot is logged as written while a periodic one's trim goes on); close() waits for both.
   */
  private async afterSnapshot(): Promise<void> {
    if (this.#after === null) return this.#runAfter();
    if (this.#again === null) {
      this.deps.log.debug(
        {},
        "snapshot written while the previous one's slot retirement or journal trim runs: they run again after it",
      );
      this.#again = this.#after.then(noop, noop).then(() => {
        this.#again = null;
        // Through afterSnapshot, not #runAfter: a snapshot written between the run's end and
        // this turn may have started a run already, and this one then waits behind it.
        return this.afterSnapshot();
      });
    }
  }

  #runAfter(): Promise<void> {
    const run = this.afterSteps().finally(() => {
      if (this.#after === run) this.#after = null;
    });
    this.#after = run;
    return run;
  }

  /**
   * The snapshot is on disk: retire slots, then trim. Either refused (a disk refusing writes) is
   * logged naming its own step and tried again after the next snapshot. One message for both
   * sent an operator to a journal with nothing wrong when a retirement failed. A retirement
   * refused skips the trim: the slot it left still pins the journal (coveredByAllGenerations).
   */
  private async afterSteps(): Promise<void> {
    const { log } = this.deps;
    // close({ cancel }) stopped the run before: the one asked for after it has nothing to go on with.
    if (this.#cancel.signal.aborted) return;
    try {
      // Stopped by close(): the slot left pins the journal, as a refused retirement's does.
      if (!(await retireSlots(this.deps, this.#cancel.signal))) return;
    } catch (err) {
      log.error(
        { err: String(err) },
        'retiring snapshot slots past --snapshot-generations failed; tried again after the next snapshot (the journal trim waits for it)',
      );
      return;
    }
    try {
      await trimCoveredJournal(this.deps, this.#cancel.signal);
    } catch (err) {
      // Operators alert on this text: kept as it was.
      log.error({ err: String(err) }, 'journal trim failed; tried again after the next snapshot');
    }
  }

  /** Journal records found damaged since the last report (by /raw reads, say): errors, with the running count. */
  private logNewCorruption(): void {
    const { corrupt } = this.deps.journal;
    if (corrupt <= this.corruptLogged) return;
    if (this.deps.running())
      this.deps.log.error(
        { corrupt, new: corrupt - this.corruptLogged },
        'journal records failed their checksum and were skipped',
      );
    this.corruptLogged = corrupt;
  }
}
