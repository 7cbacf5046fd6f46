import { hash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { Envelope } from '../src/envelope.js';
import { decodeChecked, encodeChecked } from './codec.js';
import type { DataStore } from './lmdb-store.js';

export interface JournalEntry {
  readonly seq: number;
  readonly id: string;
  readonly envelope: Envelope;
}

/** Fields that identify a message; datagrepper's additions (source_name…) are left out. */
const IDENTITY_FIELDS = ['topic', 'timestamp', 'msg', 'i', 'username'] as const;
/** Ids longer than this are hashed: LMDB keys are limited and msg_id is untrusted. */
const MAX_ID_LENGTH = 200;

/**
 * The id a message is de-duplicated by: its `msg_id`, or a stable hash of the fields that
 * identify it when the publisher left `msg_id` out (old messages did).
 */
export function messageId(envelope: Envelope): string {
  const id = envelope.msg_id;
  if (typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH) return id;
  const identity: Record<string, unknown> = {};
  for (const f of IDENTITY_FIELDS) if (envelope[f] !== undefined) identity[f] = envelope[f];
  if (typeof id === 'string') identity['msg_id'] = id;
  return `sha1:${hash('sha1', stringify(identity) ?? '', 'hex')}`;
}

export interface JournalOptions {
  /** Ids remembered in memory for de-duplication; older ones are found in the journal index. */
  readonly dedupeWindow: number;
  readonly onWriteError: (err: unknown) => void;
}

/**
 * The write-ahead journal: every accepted message gets the next sequence number and is
 * appended (asynchronously, batched by LMDB) before the plugins see it. A snapshot records
 * the last seq it covers; restart replays what follows. Also the de-duplication authority.
 */
export class Journal {
  private seq: number;
  private readonly recent = new Set<string>();
  /** Records that failed their checksum on replay or read, skipped and counted. */
  corrupt = 0;

  constructor(
    private readonly store: DataStore,
    private readonly options: JournalOptions,
  ) {
    this.seq = store.lastSeq();
  }

  /** The seq of the last message accepted. */
  get position(): number {
    return this.seq;
  }

  get firstRetained(): number {
    return this.store.firstSeq();
  }

  /** True when this id was accepted before (in the memory window or the journal index). */
  seen(id: string): boolean {
    return this.recent.has(id) || this.store.seqOfId(id) !== undefined;
  }

  /** Appends a message not seen before and returns its entry; null for a duplicate. */
  accept(envelope: Envelope): JournalEntry | null {
    const id = messageId(envelope);
    if (this.seen(id)) return null;
    this.remember(id);
    const seq = ++this.seq;
    this.store.append(seq, id, envelope.timestamp, encodeChecked({ id, envelope }), this.options.onWriteError);
    return { seq, id, envelope };
  }

  /**
   * Committed entries after `seq`, in order; damaged records are counted and skipped. Replay
   * remembers their ids (they were accepted); maintenance reads pass `remember: false`.
   */
  *after(seq: number, options: { remember: boolean } = { remember: true }): Generator<JournalEntry> {
    for (const { seq: s, value } of this.store.journalAfter(seq)) {
      const entry = this.decode(s, value);
      if (!entry) continue;
      if (options.remember) this.remember(entry.id);
      yield entry;
    }
  }

  get(seq: number): JournalEntry | null {
    const value = this.store.journalRecord(seq);
    return value ? this.decode(seq, value) : null;
  }

  getById(id: string): JournalEntry | null {
    const seq = this.store.seqOfId(id);
    return seq === undefined ? null : this.get(seq);
  }

  /** Entries with start <= timestamp <= end, ordered by timestamp. */
  *byTime(start: number, end: number, order: 'asc' | 'desc'): Generator<JournalEntry> {
    for (const seq of this.store.seqsByTime(start, end, order)) {
      const entry = this.get(seq);
      if (entry) yield entry;
    }
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

  private remember(id: string): void {
    this.recent.add(id);
    if (this.recent.size > this.options.dedupeWindow) {
      // Sets iterate in insertion order: the first id is the oldest.
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
