import { hash } from 'node:crypto';
import { type Envelope, type Meta, usableMsgId } from '../src/envelope.js';
import { decodeChecked, decodeUnchecked, encodeChecked } from './codec.js';
import { JournalBacklog } from './journal-backlog.js';
import { flat, readEntry, type ShapeBounds } from './journal-read.js';
import { KnownIds } from './known-ids.js';
import { slotCandidates } from './restore.js';
import { stableJson } from './stable-json.js';
import type { DataStore, JournalAppend } from './lmdb-store.js';

export type { ShapeBounds } from './journal-read.js';

export interface JournalEntry {
  readonly seq: number;
  readonly id: string;
  readonly envelope: Envelope;
  /** Meta the bus thread derived already (never stored: replay derives it again). */
  readonly meta?: Meta;
  /** Shape bounds the stored bytes proved the envelope within (after() with `shape`). */
  readonly withinShape?: ShapeBounds;
}

const digest = (value: unknown) => hash('sha1', stableJson(value) ?? '', 'hex');

/** Hex digits of the topic-and-payload digest after `<msg_id>#` in an id. */
const ID_DIGEST_HEX = 16;
const ID_DIGEST = /^[0-9a-f]{16}$/;

/**
 * The id a message is de-duplicated by. Real buses reuse a `msg_id` for different messages
 * (the captured samples do), so the id is the `msg_id` plus a digest of the topic and
 * payload: the same message seen twice (live, backfill, replica) matches, two messages
 * sharing a `msg_id` do not. Without a `msg_id` (old messages), a digest of the fields that
 * identify it; datagrepper's additions (`source_name`…) and float noise in the timestamp
 * are left out so an archived copy matches the live one.
 */
export function messageId(envelope: Envelope): string {
  const id = envelope.msg_id;
  if (usableMsgId(id)) {
    // Members in sorted order, as the digest's text has them: then nothing needs sorting (stable-json.ts).
    return `${id}#${digest({ msg: envelope.msg, topic: envelope.topic }).slice(0, ID_DIGEST_HEX)}`;
  }
  return `sha1:${digest({
    i: envelope.i,
    msg: envelope.msg,
    msg_id: id,
    timestamp: Math.round(envelope.timestamp * 1000) / 1000,
    topic: envelope.topic,
    username: envelope.username,
  })}`;
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

/** The stored form of an accepted message (what the journal appends and replays). */
export function encodeJournalRecord(id: string, envelope: Envelope): Uint8Array {
  return encodeChecked({ id, envelope });
}

/**
 * A record made by encodeJournalRecord in this process (the bus thread), read back without
 * verifying its checksum: it never left memory. LMDB reads go through decode() below.
 */
export function decodeFreshRecord(value: Uint8Array): { id: string; envelope: Envelope } {
  return decodeUnchecked(value) as { id: string; envelope: Envelope };
}

export interface JournalOptions {
  /** Ids remembered in memory for de-duplication; older ones are found in the journal index. */
  readonly dedupeWindow: number;
  readonly onWriteError: (err: unknown) => void;
  /**
   * Told, in seq order, about each batch once LMDB has committed it (or failed to: the batch is
   * still handed over after onWriteError, since dropping accepted messages would lose them for sure).
   * Plugins apply here, so nothing is served that a crash could take back.
   */
  readonly onCommitted?: (entries: readonly JournalEntry[]) => void;
  /**
   * Writes succeed again after failures, every held record written with them. `dropped`: records
   * let go past the hold's bound meanwhile, on disk only once a snapshot covers them (0: every
   * accepted message is on disk again).
   */
  readonly onWriteRecovered?: (records: number, dropped: number) => void;
  /** The clock failures are dated by (ms since the epoch). */
  readonly now?: () => number;
  /** Bytes of records held while writes fail (journal-backlog.ts; default MAX_BACKLOG_BYTES). */
  readonly maxHeldBytes?: number;
}

/** First wait before held records are tried again; doubled per failed try up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * The write-ahead journal: every accepted message gets the next sequence number and is
 * appended in one LMDB transaction per event-loop turn (group commit); plugins see it only
 * after that commit (onCommitted). A snapshot records the last seq it covers; restart replays
 * what follows. Also the de-duplication authority.
 */
export class Journal {
  private seq: number;
  /** The de-duplication authority: recent ids in memory, older ones in the index (known-ids.ts). */
  readonly known: KnownIds;
  /** Records that failed their checksum on replay or read, skipped and counted. */
  corrupt = 0;
  /** Accepted but not yet handed to LMDB: flushed together on the next turn of the event loop. */
  private pending: JournalAppend[] = [];
  private pendingEntries: JournalEntry[] = [];
  private flushScheduled = false;
  /** Settles after the newest batch handed to LMDB is committed and handed on: LMDB commits in order. */
  private lastCommit: Promise<void> = Promise.resolve();
  /** Records whose commit failed, tried again by retrySoon(). */
  readonly backlog: JournalBacklog;
  private retryMs = RETRY_MIN_MS;
  private retryArmed = false;
  private retryStopped = false;

  constructor(
    private readonly store: DataStore,
    private readonly options: JournalOptions,
  ) {
    this.seq = nextSeqBase(store);
    this.backlog = new JournalBacklog(options.maxHeldBytes);
    this.known = new KnownIds(store, options.dedupeWindow, () => this.flush());
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
    return this.known.has(id);
  }

  /** Appends a message not seen before and returns its entry; null for a duplicate. */
  accept(envelope: Envelope): JournalEntry | null {
    const id = messageId(envelope);
    if (this.seen(id)) return null;
    // Encoded before a seq is taken: a message that cannot be stored must not use one up.
    return this.append(id, envelope, encodeJournalRecord(id, envelope), undefined);
  }

  /**
   * accept() with the id and the stored record already made (by the bus thread, from the
   * same envelope: encodeJournalRecord), so the main thread neither hashes nor encodes.
   */
  acceptEncoded(id: string, envelope: Envelope, value: Uint8Array, meta?: Meta): JournalEntry | null {
    return this.seen(id) ? null : this.append(flat(id), envelope, value, meta);
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
    const entry: JournalEntry = meta === undefined ? { seq, id, envelope } : { seq, id, envelope, meta };
    this.pending.push({ seq, id, timestamp: envelope.timestamp, value });
    this.pendingEntries.push(entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One LMDB transaction per burst instead of three queued writes per message.
      setImmediate(() => void this.flush());
    }
    return entry;
  }

  /** Accepted entries whose batch has not been handed to LMDB yet. */
  get unflushed(): number {
    return this.pending.length;
  }

  /**
   * Hands the pending appends to LMDB. Resolves once they (and every earlier batch) are
   * committed and onCommitted has seen them.
   */
  flush(): Promise<void> {
    return this.write(false);
  }

  /**
   * With `retry` false, while writes fail, new records join the held ones untried (a full disk
   * refuses them all the same, and each try writes everything held): the retry timer tries.
   */
  private write(retry: boolean): Promise<void> {
    this.flushScheduled = false;
    if (this.pending.length === 0 && !(retry && this.backlog.held > 0)) return this.lastCommit;
    const fresh = this.pending;
    const entries = this.pendingEntries;
    this.pending = [];
    this.pendingEntries = [];
    if (this.backlog.failing && !retry) {
      this.lastCommit = this.lastCommit.then(() => {
        this.backlog.hold(fresh);
        this.retrySoon();
        this.handOn(entries);
      });
      return this.lastCommit;
    }
    const retried = this.backlog.take();
    const records = retried.length === 0 ? fresh : retried.concat(fresh);
    let appended: Promise<void>;
    try {
      appended = this.store.appendJournal(records);
    } catch (err) {
      // A closed or broken environment throws at once: the records are held all the same.
      appended = Promise.reject(err);
    }
    const write = appended.then(
      () => null,
      (err: unknown) => err ?? new Error('journal write failed'),
    );
    // Chained on the previous batch so entries are always handed on in seq order.
    this.lastCommit = Promise.all([this.lastCommit, write]).then(([, err]) => {
      if (err !== null) {
        this.backlog.failed(records, err, (this.options.now ?? Date.now)(), retried.length);
        this.options.onWriteError(err);
        this.retrySoon();
      } else {
        this.retryMs = RETRY_MIN_MS;
        const wasFailing = this.backlog.failing;
        this.backlog.committed(retried.length);
        if (wasFailing && !this.backlog.failing)
          this.options.onWriteRecovered?.(retried.length, this.backlog.status()?.dropped ?? 0);
      }
      this.handOn(entries);
    });
    return this.lastCommit;
  }

  private handOn(entries: readonly JournalEntry[]): void {
    try {
      this.options.onCommitted?.(entries);
    } catch (handOnError) {
      // A rejected link would stall every later batch behind it.
      this.options.onWriteError(handOnError);
    }
  }

  /** No more tries of held records (the store is closing): they go with the process. */
  stopRetrying(): void {
    this.retryStopped = true;
  }

  /** Tries the held records again after a pause (new batches join them untried meanwhile). */
  private retrySoon(): void {
    if (this.retryArmed || this.retryStopped) return;
    this.retryArmed = true;
    const ms = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    const run = () => {
      this.retryArmed = false;
      if (this.backlog.held > 0 && !this.retryStopped) void this.write(true);
    };
    // Not the service's clock: this is I/O pacing, and no plugin state or test depends on when it fires.
    setTimeout(run, ms).unref();
  }

  /**
   * A snapshot covering seqs up to `journalSeq` is on disk. The disk just took a write: held
   * records are tried now rather than at the end of the retry back-off (up to 30 s), so they
   * reach the journal (and its id index) before anything else can race them. Settles once
   * that try has committed or failed.
   */
  coveredBySnapshot(journalSeq: number): Promise<void> {
    this.backlog.covered(journalSeq);
    if (this.backlog.held === 0 || this.retryStopped) return this.lastCommit;
    this.retryMs = RETRY_MIN_MS;
    return this.write(true);
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
      if (remember) this.known.remember(flat(entry.id));
      yield entry;
    }
  }

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
    const seq = this.store.seqOfId(id) ?? this.firstSeqOfMsgId(id);
    return seq === undefined ? null : this.get(seq);
  }

  /**
   * The lowest seq among the ids `<msgId>#<16 hex digits>`. Other messages' ids can start the
   * same way (a msg_id `<msgId>#0` is indexed as `<msgId>#0#<digest>`, and `#` sorts before every
   * hex digit), so the first key of the range was one of theirs whenever such a message existed,
   * and of two messages reusing a msg_id, the one whose digest sorted first answered.
   */
  private firstSeqOfMsgId(msgId: string): number | undefined {
    const prefix = `${msgId}#`;
    let first: number | undefined;
    // Keys whose next character is a hex digit ('0' to 'f'); 'g' follows 'f'.
    for (const { id, seq } of this.store.idsBetween(`${prefix}0`, `${prefix}g`)) {
      if (id.length !== prefix.length + ID_DIGEST_HEX || !ID_DIGEST.test(id.slice(prefix.length))) continue;
      if (first === undefined || seq < first) first = seq;
    }
    return first;
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

  /** An id replayed from the journal outside after() (the replay thread): it was accepted, so it is a duplicate if seen again. */
  rememberReplayed(id: string): void {
    this.known.remember(id);
  }
}
