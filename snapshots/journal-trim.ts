import { decodeChecked } from './codec.js';
import type { SnapshotMeta } from './format.js';
import type { Journal } from './journal.js';
import type { DataStore } from './lmdb-store.js';
import { stoppedInPause } from './walk-cancelled.js';

/** The journal position every readable snapshot generation covers (Infinity with none). */
export function coveredByAllGenerations(store: DataStore): number {
  let covered = Number.POSITIVE_INFINITY;
  for (const slot of store.slots()) {
    try {
      covered = Math.min(covered, (decodeChecked(store.readSlotMeta(slot) as Uint8Array) as SnapshotMeta).journalSeq);
    } catch {
      // A damaged generation is never restored from, so it pins nothing.
    }
  }
  return covered;
}

export interface TrimPolicy {
  /** Entries at or before this seq are covered by every retained snapshot generation. */
  readonly coveredSeq: number;
  /** Entries whose message is older than this (epoch seconds) may go. */
  readonly cutoffTimestamp: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /**
   * Nothing dated at or after this (epoch seconds) is dropped, by age or by size: a backfill
   * re-fetches from the newest message minus --backfill-overlap and de-duplicates against the
   * journal's ids, so an entry trimmed inside that window would be counted twice. Unset when
   * there is no history to backfill from.
   */
  readonly keepFromTimestamp?: number;
}

/**
 * True when a generation written now would let the trim drop a record it cannot drop now: the
 * trim drops a prefix of the journal, so every record from the oldest kept up to and including
 * the first one some kept generation does not cover must be past retention (too old, or within
 * what the size cap asks to drop, and outside the backfill window). Unchanged state writes no
 * new generation, so on a quiet bus such records stayed until traffic came back; a generation
 * written now (of the same state, into the slot holding the oldest) lets the trim drop them,
 * each covered by a durable generation first. Reading only that first uncovered record let a
 * younger record before it, which stops the trim whatever the generations cover, cost up to
 * --snapshot-generations - 1 writes that freed nothing. The walk reads at most TRIM_STEP
 * records (one step of the trim's own scan): past them it answers false, the trim after this
 * snapshot drops what they hold, and the next snapshot decides (the trim leaves the journal
 * starting at a record it must keep, or at the first one coverage holds back).
 */
export function trimWaitsOnCoverage(journal: Journal, policy: TrimPolicy): boolean {
  const first = journal.firstRetained;
  if (first === 0 || policy.coveredSeq >= journal.position) return false;
  const excess = excessEntries(journal, policy);
  let scanned = 0;
  for (const entry of journal.after(first - 1, { remember: false })) {
    if (!pastRetention(entry.envelope.timestamp, scanned, policy, excess)) return false;
    if (entry.seq > policy.coveredSeq) return true;
    if (++scanned >= TRIM_STEP) return false;
  }
  return false;
}

/** Entries to drop, oldest first, to bring the journal under its size cap (0 when under it). */
function excessEntries(journal: Journal, policy: TrimPolicy): number {
  const entries = Math.max(1, journal.position - journal.firstRetained + 1);
  return policy.bytes > policy.maxBytes ? Math.ceil((entries * (policy.bytes - policy.maxBytes)) / policy.bytes) : 0;
}

/**
 * Whether the trim may drop an entry dated `timestamp` with `scanned` entries before it dropped:
 * too old, or still among the excess, and never inside the backfill's window (see keepFromTimestamp).
 */
function pastRetention(timestamp: number, scanned: number, policy: TrimPolicy, excess: number): boolean {
  if (timestamp >= (policy.keepFromTimestamp ?? Number.POSITIVE_INFINITY)) return false;
  return timestamp < policy.cutoffTimestamp || scanned < excess;
}

/** How far a trim looks per call, so one call's work stays bounded. */
const SCAN_LIMIT = 200_000;
/**
 * Entries decoded between two yields of the scan, and dropped per LMDB transaction. Both run
 * on the main thread (a transaction's callback too): a trim that scanned and dropped 200 000
 * entries in one go held the event loop for seconds right after a snapshot.
 */
const TRIM_STEP = 256;

export interface TrimPacing {
  /** Entries per step (default 256); tests make it small. */
  readonly step?: number;
  /** Called between steps (tests count them; one returning a promise holds the trim until it settles). */
  readonly onStep?: () => unknown;
  /**
   * Stops the trim at the pause it waits in (the service's close()): the transactions before it
   * each dropped a prefix, so the journal is shorter and whole, and the next trim drops the rest.
   */
  readonly signal?: AbortSignal;
}

/**
 * Drops the oldest journal entries that are both covered by a durable snapshot and past
 * retention (too old, or the journal is over its size cap). Never drops an entry a retained
 * snapshot generation would need to replay. Scans and drops in bounded steps with the event
 * loop free between them; each step's transaction drops a prefix, so a crash half-way leaves
 * a shorter but still consistent journal; so does a trim stopped by `pacing.signal` (close()),
 * which returns what it dropped so far.
 */
export async function trimJournal(journal: Journal, policy: TrimPolicy, pacing: TrimPacing = {}): Promise<number> {
  const first = journal.firstRetained;
  if (first === 0 || first > policy.coveredSeq) return 0;
  const step = Math.max(1, pacing.step ?? TRIM_STEP);
  const excess = excessEntries(journal, policy);
  // The last seq of each step: every transaction below drops at most one step's entries.
  const bounds: number[] = [];
  let upTo = 0;
  let scanned = 0;
  let more = true;
  while (more) {
    more = false;
    let inStep = 0;
    // A fresh range read per step: an LMDB cursor is not kept open across turns.
    for (const entry of journal.after(upTo > 0 ? upTo : first - 1, { remember: false })) {
      if (entry.seq > policy.coveredSeq || scanned >= SCAN_LIMIT) break;
      if (!pastRetention(entry.envelope.timestamp, scanned, policy, excess)) break;
      upTo = entry.seq;
      scanned++;
      if (++inStep >= step) {
        bounds.push(upTo);
        more = true;
        break;
      }
    }
    if (more && (await stoppedInPause(pacing.onStep, pacing.signal))) return 0;
  }
  if (upTo > 0 && bounds.at(-1) !== upTo) bounds.push(upTo);
  let removed = 0;
  for (const [i, bound] of bounds.entries()) {
    if (i > 0 && (await stoppedInPause(pacing.onStep, pacing.signal))) break;
    removed += await journal.truncate(bound);
  }
  return removed;
}
