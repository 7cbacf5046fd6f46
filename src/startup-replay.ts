import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Journal, JournalEntry } from '../snapshots/journal.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';
import type { Progress } from './progress.js';
import { replayBatches, ReplayThreadError } from './replay-thread.js';
import { type SeqRanges, SeqRangeCursor } from '../snapshots/replay-skip.js';
import { PROBE_FROM, PROBE_TO, PROBE_WINDOW, THREADED_REPLAY_MIN } from './replay-thresholds.js';

export { PROBE_TO, THREADED_REPLAY_MIN } from './replay-thresholds.js';

/**
 * Main-thread cost per entry (µs) from which the replay thread pays: what it costs that thread
 * to read, check, decode and derive meta, and the main thread to take a head, on this 2-core box.
 */
const THREAD_WORTH_US = 30;

/** Where the replay thread reads, and how it derives meta. */
/**
 * A restored generation's SnapshotMeta.coveredThrough and coveredAfter: entries after seq
 * `after` dated at or before `through` are held by it already.
 */
export interface CoveredAfter {
  readonly through: number;
  readonly after: number;
}

export interface ReplayThreadOptions {
  readonly dir: string;
  readonly maxFanout: number;
  /** Main-thread µs per entry from which the thread takes over (default THREAD_WORTH_US). */
  readonly worthUs?: number | undefined;
  /** Entries that must be left after the probe for the thread to take over (default THREADED_REPLAY_MIN). */
  readonly minEntries?: number | undefined;
  /** Longest the thread may make no progress before it is ended and the rest replayed here (ms; 0: never). */
  readonly hangTimeoutMs?: number | undefined;
  /** Longest the thread may take to load before it is ended and all replayed here (ms; 0: never). */
  readonly startTimeoutMs?: number | undefined;
}

export interface StartupReplayDeps {
  readonly intake: Intake;
  readonly journal: Journal;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Undefined: all on this thread. */
  readonly replayThread: ReplayThreadOptions | undefined;
  readonly counters: { replayedOnThread: number; replayThreadHangs: number };
}

/**
 * Applies every journal entry after `from` (but those in `skip`, which the restored state holds), in slices of at most ~50 ms so HTTP keeps
 * answering, and on the replay thread (replay-thread.ts) once that is timed to pay. Returns
 * early, with what was replayed applied, when `signal` aborts.
 */
export async function replayAfter(
  deps: StartupReplayDeps,
  from: number,
  progress: Progress,
  skip: SeqRanges = [],
  covered?: CoveredAfter,
): Promise<void> {
  const { journal, log, intake, signal } = deps;
  // Entries the restored state holds already (SnapshotMeta.replaySkip, and those dated within
  // its coveredThrough taken in after coveredAfter): covered, not applied again.
  const skipped = new SeqRangeCursor(skip);
  const after = covered?.after ?? Number.POSITIVE_INFINITY;
  const through = covered?.through ?? Number.NEGATIVE_INFINITY;
  const held = (entry: JournalEntry): boolean =>
    skipped.has(entry.seq) || (entry.seq > after && entry.envelope.timestamp <= through);
  const threaded = deps.replayThread;
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
  /**
   * Replays in-thread from `last`. With `probe`, times windows of entries up to PROBE_TO and
   * stops there, returning true, when the replay thread would pay: applying costs the main
   * thread more than preparing costs that thread, in every window, and a long replay remains.
   */
  const inThread = async (probe: boolean): Promise<boolean> => {
    let windowFrom = 0;
    /** µs per entry in the cheapest window so far. */
    let cheapest = Number.POSITIVE_INFINITY;
    let n = 0;
    for (const entry of journal.after(last, { remember: true, shape: intake.shapeBounds })) {
      if (signal.aborted) return false;
      if (held(entry)) intake.replayHeld(entry);
      else intake.replay(entry);
      last = entry.seq;
      n++;
      // One clock read per entry serves the progress line and the slice.
      const now = performance.now();
      progress.tick(1, now);
      if (probe && threaded && n >= PROBE_FROM && n <= PROBE_TO && (n - PROBE_FROM) % PROBE_WINDOW === 0) {
        // Applied, so its cost is in the window (REPLAY_BATCH divides PROBE_WINDOW).
        intake.applyQueued();
        const at = active();
        if (n > PROBE_FROM) cheapest = Math.min(cheapest, ((at - windowFrom) * 1000) / PROBE_WINDOW);
        windowFrom = at;
        if (
          n === PROBE_TO &&
          cheapest >= (threaded.worthUs ?? THREAD_WORTH_US) &&
          journal.position - last >= (threaded.minEntries ?? THREADED_REPLAY_MIN)
        )
          return true;
      }
      if (now - sliceStart > 50) await pause();
    }
    return false;
  };
  try {
    if (!(await inThread(threaded !== undefined)) || !threaded) return;
    try {
      for await (const batch of replayBatches({
        dir: threaded.dir,
        maxFanout: threaded.maxFanout,
        after: last,
        shape: intake.shapeBounds,
        hangTimeoutMs: threaded.hangTimeoutMs ?? 0,
        startTimeoutMs: threaded.startTimeoutMs ?? 0,
        signal,
      })) {
        journal.corrupt += batch.corrupt;
        intake.counters.fanoutTruncated += batch.truncated;
        for (const entry of batch.entries) {
          if (signal.aborted) return;
          journal.rememberReplayed(entry.id);
          if (held(entry)) intake.replayHeld(entry);
          else intake.replay(entry);
          last = entry.seq;
        }
        deps.counters.replayedOnThread += batch.entries.length;
        const now = performance.now();
        progress.tick(batch.entries.length, now);
        if (now - sliceStart > 50) await pause();
      }
    } catch (err) {
      if (!(err instanceof ReplayThreadError)) throw err;
      if (err.hung) deps.counters.replayThreadHangs++;
      // Nothing is lost: the rest is read here, from the last entry the thread handed over.
      log.warn({ err, after: last }, 'replay thread failed; replaying the rest on the main thread');
      await inThread(false);
    }
  } finally {
    // Whatever ends the loop: the position a snapshot records counts these entries as applied.
    intake.applyQueued();
  }
}
