import { decodeChecked } from './codec.js';
import type { SnapshotMeta } from './format.js';
import type { Journal } from './journal.js';
import type { DataStore } from './lmdb-store.js';

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
}

/** How far a trim looks per call, so one never stalls the event loop for long. */
const SCAN_LIMIT = 200_000;

/**
 * Drops the oldest journal entries that are both covered by a durable snapshot and past
 * retention (too old, or the journal is over its size cap). Never drops an entry a retained
 * snapshot generation would need to replay.
 */
export async function trimJournal(journal: Journal, policy: TrimPolicy): Promise<number> {
  const first = journal.firstRetained;
  if (first === 0 || first > policy.coveredSeq) return 0;
  const entries = Math.max(1, journal.position - first + 1);
  const excess =
    policy.bytes > policy.maxBytes ? Math.ceil((entries * (policy.bytes - policy.maxBytes)) / policy.bytes) : 0;
  let upTo = 0;
  let scanned = 0;
  for (const entry of journal.after(first - 1, { remember: false })) {
    if (entry.seq > policy.coveredSeq || scanned >= SCAN_LIMIT) break;
    const old = entry.envelope.timestamp < policy.cutoffTimestamp;
    if (!old && scanned >= excess) break;
    upTo = entry.seq;
    scanned++;
  }
  return upTo > 0 ? journal.truncate(upTo) : 0;
}
