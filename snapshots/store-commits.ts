/**
 * The data store's base: the handles lmdb-store.ts opened, and the one ordered write queue they
 * share. One environment holds both the snapshot slots and the journal, so their writes share
 * one queue: a snapshot that commits proves every journal entry appended before it committed
 * too. Here too: every write's failure named (WriteFailedError, writeFailure in
 * store-write-errors.ts) and failed at once once the environment failed for good (MDB_PANIC:
 * store-panic.ts), and how long writes have waited on the disk.
 *
 * The store is built in layers, each a module of one concern: this base, store-appends.ts
 * (journal appends, confirmed from the file), store-journal.ts (journal records and trims), store-indexes.ts (id and time indexes), store-slot-reads.ts,
 * store-slot-writes.ts, store-salvage.ts (file check and salvage), and lmdb-store.ts, which
 * opens the file and is the class the rest of statscache uses (DataStore).
 */
import { AppendSettlement, PROBE_AFTER_MS } from './append-settlement.js';
import { FlushWait } from './flush-wait.js';
import { SnapshotCancelledError } from './snapshot-cancelled.js';
import { UnencodableValueError } from './unencodable-value.js';
import type { SnapshotKey } from './store-entry-keys.js';
import { GuardedTable, guardedNames } from './store-guard.js';
import { StorePanic } from './store-panic.js';
import type { StoreEnv, StoreTables, Table } from './store-tables.js';
import { DataFilePanicError, isLmdbPanic, WriteFailedError, writeFailure } from './store-write-errors.js';

export { DataFilePanicError, dataFileWriteFailed, WriteFailedError } from './store-write-errors.js';

/** A journal key no record has (seqs start at 1): the append-settlement probe removes it, changing nothing. */
const PROBE_SEQ = -1;

export interface StoreCommitOptions {
  readonly probeAfterMs?: number;
  /** Milliseconds of a monotonic clock (default performance.now). */
  readonly now?: (() => number) | undefined;
}

export class StoreCommits {
  /** The data file's path. */
  readonly file: string;
  protected readonly root: StoreEnv;
  protected readonly snapshots: Table<Uint8Array, SnapshotKey>;
  protected readonly journal: Table<Uint8Array, number>;
  /** The journal again, read through LMDB's shared buffer (journalAfter). */
  protected readonly journalShared: Table<Uint8Array, number>;
  /** The snapshot table again, read the same way (forEachEntry, walk). */
  protected readonly snapshotsShared: Table<Uint8Array, SnapshotKey>;
  /** Size of the value a shared handle last read (its buffer is larger than the value). */
  protected sharedSize = 0;
  protected readonly ids: Table<number, string>;
  protected readonly times: Table<Uint8Array, [number, number]>;
  /**
   * What trimming the journal let go: `through`, the newest message time among the records it
   * dropped (see trimmedThrough()). Absent from a read-only handle on a file older than it.
   */
  protected readonly trimmed: Table<number, string> | undefined;
  protected readonly compareKeys: StoreTables['compareKeys'];
  private readonly closeAfresh: StoreTables['closeAfresh'];
  /** The last write's commit failed (a full disk): close() cannot wait for LMDB then. */
  protected writeFailed = false;
  /** close()'s wait for LMDB's flush, told each write's failure (flush-wait.ts). */
  private readonly flushWait = new FlushWait();
  /** writeSnapshot() calls not yet settled: their transaction may be open across turns. */
  protected snapshotsWriting = 0;
  /** Journal appends whose outcome lmdb-js may never report (append-settlement.ts). */
  protected readonly appends: AppendSettlement;
  /** Whether the environment failed for good (MDB_PANIC: store-panic.ts); every write fails with it then. */
  protected readonly panics: StorePanic;
  /** Milliseconds of a monotonic clock, for writesWaiting(). */
  protected readonly now: () => number;
  /**
   * When the snapshot write in progress was called (now()): a transaction that never starts
   * (queued behind a write the disk holds) waits from then.
   */
  protected snapshotCalled = Number.NEGATIVE_INFINITY;
  /**
   * When a snapshot's fill last moved (now()): each write it makes, and its end. A long fill that
   * goes on writing is no stall, for it or for the appends queued behind it; its commit, if it
   * never settles, is.
   */
  protected snapshotMoved = Number.NEGATIVE_INFINITY;

  constructor(
    readonly dir: string,
    tables: StoreTables,
    options: StoreCommitOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.file = tables.file;
    this.root = tables.root;
    this.panics = new StorePanic(this.file, tables.readAfresh, (err) => {
      this.writeFailed = true;
      this.appends.fail(err);
    });
    // Every read of the file goes through these: none answers once it failed for good (store-guard.ts).
    const guarded = <V, K>(table: Table<V, K>) => new GuardedTable(table, this.panics);
    this.snapshots = guarded(tables.snapshots);
    this.journal = guarded(tables.journal);
    this.journalShared = guarded(tables.journalShared);
    this.snapshotsShared = guarded(tables.snapshotsShared);
    this.ids = guarded(tables.ids);
    this.times = guarded(tables.times);
    this.trimmed = tables.trimmed === undefined ? undefined : guarded(tables.trimmed);
    this.compareKeys = tables.compareKeys;
    this.closeAfresh = tables.closeAfresh;
    this.appends = new AppendSettlement({
      probe: () => this.queued(() => void this.journal.remove(PROBE_SEQ)),
      probeAfterMs: options.probeAfterMs ?? PROBE_AFTER_MS,
      now: this.now,
      // A write pending past probeAfterMs may be one lmdb-js will never settle: the environment failed.
      failedForGood: () => this.panics.check(null) !== null,
    });
  }

  /** The names of the environment's databases, refused once it failed for good (store-guard.ts). */
  protected databaseNames(): Iterable<unknown> {
    return guardedNames(this.root, this.panics);
  }

  /** The MDB_PANIC error once the environment failed for good (every write fails with it), else null. */
  get panic(): DataFilePanicError | null {
    return this.panics.error;
  }

  /** The MDB_PANIC error `err` (a read's, say) is, entering that state if it is the first; else null. */
  panicOf(err: unknown): DataFilePanicError | null {
    // The store's own (a read refused once the file failed: store-guard.ts) is the one it holds.
    if (err instanceof DataFilePanicError && err === this.panics.error) return err;
    return isLmdbPanic(err) ? this.panics.check(err) : null;
  }

  /** `listener` is told once, when the environment fails for good (MDB_PANIC). */
  onPanic(listener: (err: DataFilePanicError) => void): void {
    this.panics.onPanic(listener);
  }

  /**
   * A transaction other than an append (a snapshot, a trim), checked (a failed commit names its
   * cause) and settled in queue order with the journal's appends (append-settlement.ts): its
   * value once lmdb-js reports it, or `confirm()`'s, which reads from the file whether it landed,
   * once a later write has settled without that report.
   */
  protected settled<T>(write: Promise<T>, confirm: () => T): Promise<T> {
    const panicked = this.panics.error;
    if (panicked !== null) {
      // lmdb-js would settle it never: failed here, its own promise left to lie.
      write.catch(() => undefined);
      return Promise.reject(panicked);
    }
    let reported: { value: T } | null = null;
    const checked = this.checked(write).then((value) => {
      reported = { value };
      return value;
    });
    return this.appends.watchWrite(checked).then(() => (reported === null ? confirm() : reported.value));
  }

  /** A write reported done (or settled by a later one) that the file shows did not land. */
  protected failedInFile(message: string): WriteFailedError {
    this.writeFailed = true;
    return this.flushWait.tell(new WriteFailedError(message));
  }

  /** `write`'s puts as one queued write, in order with every other: see appendJournal (store-appends.ts). */
  protected queued(write: () => void): Promise<unknown> {
    // Queued on a failed environment, a write is never settled by lmdb-js.
    const panicked = this.panics.error;
    if (panicked !== null) return Promise.reject(panicked);
    return this.snapshotsWriting > 0 ? this.root.transaction(write) : this.root.batch(write);
  }

  /**
   * How long (ms) the oldest journal append not yet settled, and the snapshot write in progress,
   * have waited on the disk; null for none. A disk that hangs (NFS, iSCSI, a device stuck in D
   * state) fails nothing: its writes just never settle, and every message waits on them.
   */
  writesWaiting(): { readonly journal: number | null; readonly snapshot: number | null } {
    const now = this.now();
    const oldest = this.appends.oldestPending();
    return {
      // An append queued while a snapshot's fill goes on waits for that fill, not for the disk.
      journal: oldest === null ? null : now - Math.max(oldest, this.snapshotMoved),
      snapshot: this.snapshotsWriting > 0 ? now - Math.max(this.snapshotCalled, this.snapshotMoved) : null,
    };
  }

  get flushed(): Promise<boolean> | undefined {
    return this.root.flushed;
  }

  /**
   * Closes the handles once every write queued has reached the disk. Resolves with the failure
   * that kept it from waiting when a write failed while it waited (a full disk), else null: one
   * that failed before it was told to its writer then. Either way it settles, its handles closed.
   */
  async close(): Promise<WriteFailedError | null> {
    // First, before any wait: a failure handler resuming from here on reads nothing (store-panic.ts close()).
    this.panics.close();
    this.appends.stop();
    if (this.writeFailed) {
      this.closeUnflushed();
      return null;
    }
    const failure = await this.flushWait.wait(this.root.flushed);
    if (failure !== null || this.writeFailed) {
      // As after a failure before close(). Awaited, the flush's rejection (lmdb-js's bare "Commit
      // failed") was close()'s, and the handles were left open.
      this.closeUnflushed();
      return failure ?? new WriteFailedError(`a write to ${this.file} failed while the store closed`);
    }
    await this.closeAfresh();
    await this.root.close();
    return null;
  }

  /**
   * Closes the handles without waiting: after a failed commit nothing more reaches the disk, and
   * lmdb-js 3.5.6 with overlapping sync settled neither `flushed` nor close() (both still pending
   * 2 s later, measured), which hung the stop.
   */
  private closeUnflushed(): void {
    void this.closeAfresh().catch(() => undefined);
    void this.root.close().catch(() => undefined);
  }

  /**
   * `write`, rejecting with a WriteFailedError that names LMDB's cause when its commit fails. A
   * snapshot cancelled part-way (SnapshotCancelledError: its fill threw it, and LMDB aborted its
   * child transaction) is no failure of the disk: passed through as it is, the flag untouched;
   * so is one that met a plugin value it could not encode (UnencodableValueError).
   */
  protected checked<T>(write: Promise<T>): Promise<T> {
    return write.then(
      (value) => {
        this.writeFailed = false;
        return value;
      },
      async (err: unknown) => {
        if (
          err instanceof DataFilePanicError ||
          err instanceof SnapshotCancelledError ||
          err instanceof UnencodableValueError
        )
          throw err;
        this.writeFailed = true;
        const failure = this.flushWait.tell(await writeFailure(err));
        // A commit whose meta-page write failed leaves the environment failed for good.
        throw this.panics.check(failure) ?? failure;
      },
    );
  }
}
