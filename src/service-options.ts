import type { ClaimedDataDir } from './service-build.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { ScanBudget } from './http/history-search.js';
import type { Logger, LogOutputStatus } from './logger.js';
import type { MetaDeriver } from './message.js';
import type { TrimPacing } from '../snapshots/journal-trim.js';
import type { WalkPacing } from '../snapshots/store-slot-reads.js';
import type { SnapshotterOptions } from '../snapshots/snapshotter.js';

/** What Service.build() is given: the config, and the seams tests and benches set. */
export interface ServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The logger's output (log-output.ts), whose dropped lines /metrics counts and /readyz tells; none: not reported. */
  readonly logOutput?: LogOutputStatus;
  /** The stop watch thread (stop-watch.ts), whose failure /readyz tells; none: not reported. */
  readonly stopWatch?: { problem(): string | null };
  readonly clock?: Clock;
  /** Plugin definitions; default: the built-in ones. */
  readonly plugins?: readonly unknown[];
  /**
   * Snapshot chunking (the bench compares chunked with one-turn snapshots); defaults in
   * snapshot-pacer.ts. `onYield` is told of each chunk ended (tests count them, or act between two).
   */
  readonly snapshotChunk?: Pick<SnapshotterOptions, 'chunkMs' | 'chunkEntries' | 'onYield'>;
  readonly deriveMeta?: MetaDeriver;
  /** The journal trim after each snapshot: its step size, and a hook between steps (tests hold a trim with it). */
  readonly trimPacing?: TrimPacing;
  /** The removal of slots past a lowered --snapshot-generations after a snapshot: entries per step, and a hook between steps (tests). */
  readonly retirePacing?: TrimPacing;
  /** A filtered /raw scan's slice timer and pause between slices (tests step the one and hold the other). */
  readonly historySlices?: Pick<ScanBudget, 'sliceNowMs' | 'pause'>;
  /** The generation size walk after POST /admin/snapshot: entries per turn, and a hook between turns (tests hold it). */
  readonly sizePacing?: WalkPacing;
  /**
   * Check the LMDB file in a child process before mapping it (default true). Only in-process
   * tests that restart hundreds of times over files they damaged at the value level turn it off.
   */
  readonly checkDataFile?: boolean;
  /** Data files larger than this are streamed ahead by the check (check-and-read.ts; tests pass 0). */
  readonly checkStreamAboveBytes?: number;
  /** The data dir already locked and its check started (service-build.ts claimDataDir; the CLI's start). */
  readonly claimed?: ClaimedDataDir;
  /** Back-off sleep for backfill retries (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Main-thread µs per replayed entry from which the replay thread takes over (startup-replay.ts; tests pin it). */
  readonly replayThreadWorthUs?: number;
  /** Entries left after the probe from which the replay thread takes over (startup-replay.ts; tests lower it). */
  readonly replayThreadMinEntries?: number;
  /** Entries hashed per event-loop turn when recovery settles the deferred digests (tests make it small). */
  readonly digestSettleStep?: number;
  /**
   * Called once if intake can no longer work (a bus receive loop ended while running); the CLI
   * stops and exits non-zero so a supervisor restarts the process. /healthz fails from then on.
   */
  readonly onFatal?: (err: Error) => void;
}
