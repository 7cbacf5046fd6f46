import { parseInterval } from '../actors/interval.js';
import type { Journal } from '../snapshots/journal.js';
import {
  coveredByAllGenerations,
  type TrimPacing,
  type TrimPolicy,
  trimJournal,
  trimWaitsOnCoverage,
} from '../snapshots/journal-trim.js';
import type { DataStore } from '../snapshots/lmdb-store.js';
import { stoppedInPause } from '../snapshots/walk-cancelled.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';

/** Entries of a retired snapshot slot removed per LMDB transaction. */
const RETIRE_STEP = 5000;

/** What a written snapshot's slot retirement and journal trim read (SnapshotCycleDeps extends it). */
export interface RetireTrimDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly store: DataStore;
  readonly journal: Journal;
  readonly intake: Intake;
  /** The journal trim's steps (tests hold one to reach a stop or close under it). */
  readonly trimPacing?: TrimPacing | undefined;
  /** The retirement's steps of slots past --snapshot-generations (default RETIRE_STEP entries; tests make them small and count them). */
  readonly retirePacing?: TrimPacing | undefined;
}

/**
 * Slots at or past --snapshot-generations (the count was lowered) are never written again and
 * would pin the journal's trim for good: once a snapshot at the new count is on disk, they go,
 * entries first in bounded steps (a kill half-way leaves a slot restore only falls back to,
 * and the next snapshot carries on), then the meta record. close() stops it at its next step
 * (false), which leaves the same: close() waited out every step of it.
 */
export async function retireSlots(deps: RetireTrimDeps, signal: AbortSignal): Promise<boolean> {
  const { store, config, log } = deps;
  const pacing = deps.retirePacing ?? {};
  const step = Math.max(1, pacing.step ?? RETIRE_STEP);
  for (const slot of store.slots()) {
    if (slot < config.snapshotGenerations) continue;
    let removed = 0;
    let n: number;
    while ((n = await store.clearSlotSome(slot, step)) > 0) {
      removed += n;
      if (await stoppedInPause(pacing.onStep, signal)) {
        log.info(
          { slot, entries: removed, snapshotGenerations: config.snapshotGenerations },
          'removing a snapshot slot past --snapshot-generations stopped: the service is closing; the next snapshot after a start goes on with it',
        );
        return false;
      }
    }
    // Gone already (false): not this run's removal to log.
    if (!(await store.dropSlotMeta(slot))) continue;
    log.info(
      { slot, entries: removed, snapshotGenerations: config.snapshotGenerations },
      'snapshot slot past --snapshot-generations removed',
    );
  }
  return true;
}

/** Drops journal entries past retention that every retained snapshot generation covers. */
export async function trimCoveredJournal(deps: RetireTrimDeps, signal: AbortSignal): Promise<void> {
  const covered = coveredByAllGenerations(deps.store);
  if (!Number.isFinite(covered)) return;
  const removed = await trimJournal(deps.journal, trimPolicy(deps, covered), {
    ...deps.trimPacing,
    signal,
  });
  if (signal.aborted) {
    deps.log.info(
      { removed, covered },
      'journal trim stopped: the service is closing; the next snapshot after a start trims the rest',
    );
    return;
  }
  if (removed > 0) deps.log.info({ removed, covered }, 'journal trimmed');
}

/**
 * State unchanged since the last generation, yet the journal holds records past retention
 * that an older kept generation does not cover: write one all the same (journal-trim.ts
 * trimWaitsOnCoverage). At most --snapshot-generations - 1 in a row, until all cover it.
 */
export function retentionWaits(deps: RetireTrimDeps): boolean {
  const covered = coveredByAllGenerations(deps.store);
  if (!Number.isFinite(covered) || !trimWaitsOnCoverage(deps.journal, trimPolicy(deps, covered))) return false;
  deps.log.info(
    { covered, journalSeq: deps.journal.position },
    'state unchanged, but journal records past retention wait on an older snapshot generation: writing one',
  );
  return true;
}

function trimPolicy(deps: RetireTrimDeps, covered: number): TrimPolicy {
  const { store, config, intake, clock } = deps;
  return {
    coveredSeq: covered,
    cutoffTimestamp: clock.now() / 1000 - parseInterval(config.journalMaxAge, 'journalMaxAge'),
    bytes: store.journalBytes(),
    maxBytes: config.journalMaxBytes,
    // Only a history source re-fetches (start-up, reconnect and gap backfills all need --datagrepper).
    ...(config.datagrepper === null ? {} : { keepFromTimestamp: intake.newestTimestamp - config.backfillOverlap }),
  };
}
