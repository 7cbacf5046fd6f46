import type { Envelope } from '../src/envelope.js';
import { decodeChecked } from './codec.js';
import type { JournalEntry } from './journal.js';
import { firstSeqOfMsgId } from './journal-record.js';
import type { DataStore } from './lmdb-store.js';

/**
 * The journal's committed records read back (journal.ts): by seq, by id and by time (history,
 * export), their counts, and their trim once a snapshot covers them. Journal extends it with
 * numbering, de-duplication, the group commit and replay's reads.
 */
export class JournalQueries {
  /** Records that failed their checksum on replay or read, skipped and counted. */
  corrupt = 0;

  constructor(protected readonly store: DataStore) {}

  get(seq: number): JournalEntry | null {
    const value = this.store.journalRecord(seq);
    return value ? this.decode(seq, value) : null;
  }

  /** Bytes of the stored record of `seq` (0 if none), without decoding it. */
  recordBytes(seq: number): number {
    return this.store.journalRecordBytes(seq);
  }

  /** By a full id, or by a plain `msg_id` (the first message journaled under it). */
  getById(id: string): JournalEntry | null {
    const seq = this.store.seqOfId(id) ?? firstSeqOfMsgId(this.store, id);
    return seq === undefined ? null : this.get(seq);
  }

  /** Entries with start <= timestamp <= end, ordered by timestamp. */
  *byTime(start: number, end: number, order: 'asc' | 'desc'): Generator<JournalEntry> {
    for (const seq of this.store.seqsByTime(start, end, order)) {
      const entry = this.get(seq);
      if (entry) yield entry;
    }
  }

  /** Seqs of entries with start <= timestamp <= end, by timestamp, without decoding them (paging reads only what it serves). */
  seqsByTime(start: number, end: number, order: 'asc' | 'desc', offset = 0): Generator<number> {
    return this.store.seqsByTime(start, end, order, offset);
  }

  /** countByTime() and a page of seqsByTime() in one walk that yields every `step` keys (DataStore.pageByTime). */
  pageByTime(
    start: number,
    end: number,
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
    pause: () => Promise<void>,
    step?: number,
  ): Promise<{ total: number; seqs: number[] }> {
    return this.store.pageByTime(start, end, order, offset, limit, pause, step);
  }

  /** Entries held, from LMDB's own count (O(1)). */
  get entries(): number {
    return this.store.idCount();
  }

  /** Entries with start <= timestamp <= end, counted from the time index. */
  countByTime(start: number, end: number): number {
    return this.store.countByTime(start, end);
  }

  /** The newest message time among the entries trimmed so far, -Infinity if none (DataStore.trimmedThrough). */
  get trimmedThrough(): number {
    return this.store.trimmedThrough();
  }

  /** Deletes entries up to and including `upTo`; the caller guarantees a durable snapshot covers them. */
  truncate(upTo: number): Promise<number> {
    return this.store.truncate(upTo, (value) => {
      try {
        const { id, envelope } = decodeChecked(value) as { id: string; envelope: Envelope };
        return { id, timestamp: envelope.timestamp };
      } catch {
        return null;
      }
    });
  }

  private decode(seq: number, value: Uint8Array): JournalEntry | null {
    try {
      const { id, envelope } = decodeChecked(value) as { id: string; envelope: Envelope };
      return { seq, id, envelope };
    } catch {
      this.corrupt++;
      return null;
    }
  }
}
