import type { JournalAppend } from './lmdb-store.js';

/** Bytes of records kept for another try once commits fail (a full disk): 64 MiB. */
export const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/** Why accepted messages are not on disk yet, or null when every one is (/readyz's `degraded`). */
export interface BacklogStatus {
  /** Since when commits fail (ms since the epoch), or null once one succeeded again. */
  readonly failingSince: number | null;
  /** The last failure's cause, as LMDB named it. */
  readonly lastError: string | null;
  /** Records held in memory, tried again after a pause, or in a write that has not committed yet. */
  readonly held: number;
  /** Records let go to bound memory: their messages are in the state, on disk only once a snapshot covers them. */
  readonly dropped: number;
}

/**
 * Journal records whose commit failed. A failed LMDB transaction lands nothing, so they are
 * tried again after a pause, with every batch accepted meanwhile, until one commits: a disk
 * that fills up and is freed loses no message. The plugins applied them already (dropping
 * them would lose them for sure); records let go past the byte bound are durable once a
 * snapshot covers their seq.
 */
export class JournalBacklog {
  private records: JournalAppend[] = [];
  private bytes = 0;
  /**
   * Records take() handed to a write that has not settled: not on disk yet, so still counted as
   * held by status() (the gauge and /readyz), which read 0 for the whole retry otherwise.
   */
  private writing = 0;
  private dropped = 0;
  /** Highest seq let go unwritten: a snapshot at or past it covers every one. */
  private droppedThrough = 0;
  private failingSince: number | null = null;
  private lastError: string | null = null;

  constructor(private readonly maxBytes: number = MAX_BACKLOG_BYTES) {}

  /** Records waiting for another try. */
  get held(): number {
    return this.records.length;
  }

  /**
   * Hands over the held records to write with the next batch. The write's outcome settles them:
   * committed(taken) or failed(records, …, taken), which holds them again.
   */
  take(): JournalAppend[] {
    const records = this.records;
    this.records = [];
    this.bytes = 0;
    this.writing += records.length;
    return records;
  }

  /** Whether the last write failed: new records are held, not tried, until the retry. */
  get failing(): boolean {
    return this.failingSince !== null;
  }

  /** A batch did not commit: keep its records (`taken` of them came from take()). */
  failed(records: readonly JournalAppend[], err: unknown, now: number, taken = 0): void {
    this.writing -= taken;
    this.failingSince ??= now;
    this.lastError = err instanceof Error ? err.message : String(err);
    this.hold(records);
  }

  /** Keeps records to write with the held ones (the oldest go past the byte bound). */
  hold(records: readonly JournalAppend[]): void {
    for (const r of records) {
      // A copy of the record alone: a queued one is its entry too (journal-commit.ts), whose
      // envelope (its body decoded once a plugin read it) the byte bound does not count.
      this.records.push({ seq: r.seq, id: r.id, timestamp: r.timestamp, value: r.value });
      this.bytes += r.value.byteLength;
    }
    let drop = 0;
    while (this.bytes > this.maxBytes && drop < this.records.length) {
      const r = this.records[drop++] as JournalAppend;
      this.bytes -= r.value.byteLength;
      this.dropped++;
      if (r.seq > this.droppedThrough) this.droppedThrough = r.seq;
    }
    if (drop > 0) this.records = this.records.slice(drop);
  }

  /** A batch committed, with every record it was handed (`taken` of them from take()). */
  committed(taken = 0): void {
    this.writing -= taken;
    if (this.records.length === 0 && this.writing === 0) {
      this.failingSince = null;
      this.lastError = null;
    }
  }

  /**
   * A snapshot covering seqs up to `journalSeq` is on disk: the records let go past the bound
   * are durable now. Held records stay held, to be written: a snapshot puts a message's effect
   * on disk, not its record, which de-duplication (a repeat, a backfill), `/raw` and a rebuild
   * from the journal need; discarding them there counted 2,800 messages twice after a restart
   * and lost them from `journal replay`.
   */
  covered(journalSeq: number): void {
    if (this.dropped > 0 && this.droppedThrough <= journalSeq) this.dropped = 0;
    if (this.records.length === 0 && this.writing === 0 && this.dropped === 0) {
      this.failingSince = null;
      this.lastError = null;
    }
  }

  status(): BacklogStatus | null {
    if (this.records.length === 0 && this.writing === 0 && this.dropped === 0 && this.failingSince === null)
      return null;
    return {
      failingSince: this.failingSince,
      lastError: this.lastError,
      held: this.records.length + this.writing,
      dropped: this.dropped,
    };
  }
}
