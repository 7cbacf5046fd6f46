import { DECODE_ERROR_REASONS, type DecodeErrorReason } from './decode-frames.js';

export interface IntakeCounters {
  frames: number;
  accepted: number;
  duplicates: number;
  filledTimestamps: number;
  /** Timestamps read as milliseconds or microseconds and converted (README, "Time"). */
  correctedTimestamps: number;
  decodeErrors: Record<DecodeErrorReason, number>;
  backfilled: number;
  backfillInvalid: number;
  /**
   * History messages dated at or before the journal's trimmed part (Journal.trimmedThrough, which
   * an import or bootstrap moves to the imported state's journal tail): they may have been counted
   * already and the journal holds no id of theirs to tell, so they are not taken in.
   */
  backfillBeforeJournal: number;
  /** Backfilled messages of topics the service does not subscribe to, skipped. */
  backfillUnsubscribed: number;
  backfillRetries: number;
  /** Backfill windows whose paging ended early: empty, short or repeated pages, or MAX_BACKFILL_PAGES. */
  backfillCutShort: number;
  gaps: number;
  replayed: number;
  /**
   * Journaled entries applied at start-up to plugins behind the restored state only (loaded again
   * after runs without them, or new to the data dir: catch-up.ts).
   */
  caughtUp: number;
  /** Journaled entries refused on replay (written by an older version without today's bounds). */
  replayRejected: number;
  journalWriteErrors: number;
  /** Messages whose usernames or packages were cut to --max-fanout. */
  fanoutTruncated: number;
  /** Committed entries that failed to apply (a bug, never plugin code: that is caught per plugin). */
  applyErrors: number;
}

/** Every counter at zero, one per decode error reason. */
export function newIntakeCounters(): IntakeCounters {
  return {
    frames: 0,
    accepted: 0,
    duplicates: 0,
    filledTimestamps: 0,
    correctedTimestamps: 0,
    decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number>,
    backfilled: 0,
    backfillInvalid: 0,
    backfillBeforeJournal: 0,
    backfillUnsubscribed: 0,
    backfillRetries: 0,
    backfillCutShort: 0,
    gaps: 0,
    replayed: 0,
    caughtUp: 0,
    replayRejected: 0,
    journalWriteErrors: 0,
    fanoutTruncated: 0,
    applyErrors: 0,
  };
}
