import type { Envelope, Meta } from '../src/envelope.js';
import type { JournalBacklog } from './journal-backlog.js';
import { type CommitOptions, GroupCommit, type QueuedEntry } from './journal-commit.js';
import { readEntry, type ShapeBounds } from './journal-read.js';
import { JournalQueries } from './journal-queries.js';
import { encodeJournalRecord, messageId } from './journal-record.js';
import { KnownIds } from './known-ids.js';
import { slotCandidates } from './restore.js';
import type { DataStore, JournalAppend } from './lmdb-store.js';

export type { ShapeBounds } from './journal-read.js';

/**
 * Test hook, like the hang watch's STATSCACHE_TEST_HANG_WATCH_FAIL: accept() throws for a
 * message of this topic, as it does when the store refuses the id lookup (an LMDB read error).
 * Nothing sent on a real bus produces that failure on demand; the AMQP intake's handling of it
 * (test/e2e/amqp-unjournaled.test.ts) is tested through this.
 */
const REFUSE_TOPIC = process.env['STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC'];

export interface JournalEntry {
  readonly seq: number;
  readonly id: string;
  readonly envelope: Envelope;
  /** Meta the bus thread derived already (never stored: replay derives it again). */
  readonly meta?: Meta;
  /** Shape bounds the stored bytes proved the envelope within (after() with `shape`). */
  readonly withinShape?: ShapeBounds;
}

/**
 * Where numbering continues: after the newest record, or after the newest generation's
 * journalSeq if that is higher. Trim may remove every record (all covered and past
 * --journal-max-age on a quiet bus); numbering from 1 again would put new messages below the
 * restored state's journalSeq, where replay after a crash never looks.
 */
function nextSeqBase(store: DataStore): number {
  let seq = store.lastSeq();
  for (const { meta } of slotCandidates(store).candidates) seq = Math.max(seq, meta.journalSeq);
  return seq;
}

export interface JournalOptions extends CommitOptions {
  /** Ids remembered in memory for de-duplication; older ones are found in the journal index. */
  readonly dedupeWindow: number;
}

/**
 * The write-ahead journal: every accepted message gets the next sequence number and is
 * appended in one LMDB transaction per event-loop turn (group commit); plugins see it only
 * after that commit (onCommitted). A snapshot records the last seq it covers; restart replays
 * what follows. Also the de-duplication authority.
 */
export class Journal extends JournalQueries {
  private seq: number;
  /** The de-duplication authority: recent ids in memory, older ones in the index (known-ids.ts). */
  readonly known: KnownIds;
  /** Batches accepted records into LMDB transactions and hands them on once committed. */
  private readonly commits: GroupCommit;
  /** Records whose commit failed, tried again after a pause (journal-commit.ts). */
  readonly backlog: JournalBacklog;

  constructor(store: DataStore, options: JournalOptions) {
    super(store);
    this.seq = nextSeqBase(store);
    this.commits = new GroupCommit(store, options);
    this.backlog = this.commits.backlog;
    this.known = new KnownIds(store, options.dedupeWindow, () => this.flush());
  }

  /** The seq of the last message accepted. */
  get position(): number {
    return this.seq;
  }

  get firstRetained(): number {
    return this.store.firstSeq();
  }

  /**
   * True when this id was accepted before (in the memory window or the journal index). Once the
   * data file failed for good (MDB_PANIC) it throws the store's DataFilePanicError
   * (SC_DATA_FILE_PANIC), whether or not the answer needed the index (an index read then throws
   * it too: store-guard.ts), never LMDB's bare "Invalid argument": a caller must tell "never
   * stored here" from "cannot be asked" (the AMQP intake then leaves the delivery unacked for the
   * broker to deliver again), and a message taken in now could never be journaled.
   */
  seen(id: string): boolean {
    const failed = this.store.panic;
    if (failed !== null) throw failed;
    try {
      return this.known.has(id);
    } catch (err) {
      throw this.store.panicOf(err) ?? err;
    }
  }

  /** The store's DataFilePanicError once its environment failed for good (MDB_PANIC), else null. */
  get failedForGood(): Error | null {
    return this.store.panic ?? null;
  }

  /** Appends a message not seen before and returns its entry; null for a duplicate. */
  accept(envelope: Envelope): JournalEntry | null {
    if (REFUSE_TOPIC !== undefined && envelope.topic === REFUSE_TOPIC)
      throw new Error(`the journal refused the record (STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC=${REFUSE_TOPIC})`);
    const id = messageId(envelope);
    if (this.seen(id)) return null;
    // Encoded before a seq is taken: a message that cannot be stored must not use one up.
    return this.append(id, envelope, encodeJournalRecord(id, envelope), undefined);
  }

  /**
   * accept() with the id and the stored record already made (by the bus thread, from the
   * same envelope: encodeJournalRecord), so the main thread neither hashes nor encodes.
   * `id` must hold only its own characters, as the de-duplication window keeps it (flat()):
   * unpackPrepared's ids do (JSON.parse copies each string it makes; a msgpack head's id is
   * copied there). The one string is then hashed once, for the look-up, the window and the id
   * filter alike, where a copy made here was hashed again and compared by content.
   */
  acceptEncoded(id: string, envelope: Envelope, value: Uint8Array, meta?: Meta): JournalEntry | null {
    if (REFUSE_TOPIC !== undefined && envelope.topic === REFUSE_TOPIC)
      throw new Error(`the journal refused the record (STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC=${REFUSE_TOPIC})`);
    return this.seen(id) ? null : this.append(id, envelope, value, meta);
  }

  /**
   * Records for the envelopes not seen before, numbered after the journal's end and remembered,
   * but not queued: the caller writes them in a transaction of its own (`snapshot import`, with
   * the generation they belong to, so a kill leaves both or neither).
   */
  recordsFor(envelopes: readonly Envelope[]): JournalAppend[] {
    const out: JournalAppend[] = [];
    for (const envelope of envelopes) {
      const id = messageId(envelope);
      if (this.seen(id)) continue;
      const value = encodeJournalRecord(id, envelope);
      out.push({ seq: this.claim(id), id, timestamp: envelope.timestamp, value });
    }
    return out;
  }

  /** The next seq, for a message not seen before, whose id is remembered from now on. */
  private claim(id: string): number {
    this.known.appended(id);
    return ++this.seq;
  }

  /** Takes the next seq for a message not seen before and queues it for the next group commit. */
  private append(id: string, envelope: Envelope, value: Uint8Array, meta: Meta | undefined): JournalEntry {
    const seq = this.claim(id);
    const entry: QueuedEntry = { seq, id, envelope, meta, timestamp: envelope.timestamp, value };
    this.commits.queue(entry);
    return entry;
  }

  /** Accepted entries whose batch has not been handed to LMDB yet. */
  get unflushed(): number {
    return this.commits.unflushed;
  }

  /**
   * Hands the pending appends to LMDB. Resolves once they (and every earlier batch) are
   * committed and onCommitted has seen them.
   */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  /** Resolves once every append so far is committed and handed on, with the turn's group commit (no flush now). */
  whenCommitted(): Promise<void> {
    return this.commits.whenCommitted();
  }

  /** No more tries of held records (the store is closing): they go with the process. */
  stopRetrying(): void {
    this.commits.stopRetrying();
  }

  /**
   * A snapshot covering seqs up to `journalSeq` is on disk: held records are tried now
   * (journal-commit.ts). Settles once that try has committed or failed.
   */
  coveredBySnapshot(journalSeq: number): Promise<void> {
    return this.commits.coveredBySnapshot(journalSeq);
  }

  /**
   * Committed entries after `seq`, in order; damaged records are counted and skipped. Replay
   * remembers their ids (they were accepted); maintenance reads pass `remember: false`. With
   * `shape`, an entry whose stored bytes prove its envelope within those bounds says so.
   */
  *after(
    seq: number,
    options: { remember: boolean; shape?: ShapeBounds } = { remember: true },
  ): Generator<JournalEntry> {
    const { remember, shape } = options;
    const read = (s: number, bytes: Uint8Array, size: number) => readEntry(s, bytes, size, shape);
    for (const entry of this.store.journalAfter(seq, read)) {
      if (entry === null) {
        this.corrupt++;
        continue;
      }
      // readEntry's ids hold only their own characters: kept as they are.
      if (remember) this.known.remember(entry.id);
      yield entry;
    }
  }

  /** An id replayed from the journal outside after() (the replay thread): it was accepted, so it is a duplicate if seen again. */
  rememberReplayed(id: string): void {
    this.known.remember(id);
  }
}
