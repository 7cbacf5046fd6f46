import { JournalBacklog } from './journal-backlog.js';
import type { JournalEntry } from './journal.js';
import type { DataStore, JournalAppend } from './lmdb-store.js';

/**
 * An accepted entry that is its own record to append: one object a message where there were two
 * (an entry and a record of the same seq and id), and one queue. Only a failed commit's held
 * records are copied apart (journal-backlog.ts), so the backlog keeps no envelope alive.
 */
export interface QueuedEntry extends JournalEntry, JournalAppend {}

/** What the journal's owner is told about writes (JournalOptions). */
export interface CommitOptions {
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
 * The journal's group commit: records accepted in one event-loop turn go to LMDB in one
 * transaction, and their entries are handed on (onCommitted) in seq order once it has
 * committed. A commit that fails holds its records (journal-backlog.ts) and tries them again
 * with back-off, while the entries are handed on all the same.
 */
export class GroupCommit {
  /** Accepted but not yet handed to LMDB: flushed together on the next turn of the event loop. */
  private pending: QueuedEntry[] = [];
  private flushScheduled = false;
  /** Settled with the scheduled flush's commit: what whenCommitted() hands out until that flush. */
  private nextBatch: { readonly promise: Promise<void>; readonly resolve: (commit: Promise<void>) => void } | null =
    null;
  /** Settles after the newest batch handed to LMDB is committed and handed on: LMDB commits in order. */
  private lastCommit: Promise<void> = Promise.resolve();
  /** Records whose commit failed, tried again by retrySoon(). */
  readonly backlog: JournalBacklog;
  private retryMs = RETRY_MIN_MS;
  private retryArmed = false;
  private retryStopped = false;

  constructor(
    private readonly store: DataStore,
    private readonly options: CommitOptions,
  ) {
    this.backlog = new JournalBacklog(options.maxHeldBytes);
  }

  /** Queues one accepted entry, its own record, for the next group commit. */
  queue(entry: QueuedEntry): void {
    this.pending.push(entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One LMDB transaction per burst instead of three queued writes per message.
      setImmediate(() => void this.flush());
    }
  }

  /**
   * Settles once everything queued so far is committed and handed on, as flush() does, without
   * flushing now: the records join the turn's group commit. An AMQP delivery waits on this for
   * its ack; flushing at each made every delivery a batch of its own (one LMDB write, commit
   * hand-on and ack each), though a burst arrives in one turn.
   */
  whenCommitted(): Promise<void> {
    if (this.pending.length === 0) return this.lastCommit;
    if (this.nextBatch === null) {
      let resolve: (commit: Promise<void>) => void = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.nextBatch = { promise, resolve };
    }
    return this.nextBatch.promise;
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
    const entries: readonly JournalEntry[] = fresh;
    this.pending = [];
    if (this.backlog.failing && !retry) {
      this.lastCommit = this.lastCommit.then(() => {
        this.backlog.hold(fresh);
        this.retrySoon();
        this.handOn(entries);
      });
      return this.handedOver();
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
    return this.handedOver();
  }

  /** The pending records are in the batch just chained: those waiting on them (whenCommitted) wait on it. */
  private handedOver(): Promise<void> {
    const waiting = this.nextBatch;
    this.nextBatch = null;
    waiting?.resolve(this.lastCommit);
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
}
