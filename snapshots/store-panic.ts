/**
 * Whether the data file's LMDB environment failed for good (MDB_PANIC: store-write-errors.ts
 * says what that is, and how lmdb-js hides it): asked of LMDB, remembered from the first yes,
 * and told, first to the store (which fails every write pending), then to its listeners.
 * StoreCommits holds one; every write it queues fails with the error once there is one.
 */
import { DataFilePanicError, isLmdbPanic } from './store-write-errors.js';

export class StorePanic {
  /** Set once LMDB refuses this environment for good (MDB_PANIC: store-write-errors.ts); every write fails with it. */
  private panicked: DataFilePanicError | null = null;
  private readonly panicListeners: Array<(err: DataFilePanicError) => void> = [];
  /** Set by close(): LMDB is asked nothing more (its handles are closing or closed). */
  private closed = false;

  constructor(
    /** The data file's path, for the error that names it. */
    private readonly file: string,
    /** A read in a read transaction of its own (store-tables.ts): check's question to LMDB. */
    private readonly readAfresh: () => void,
    /** Told on the first yes, before the listeners: the store fails every write pending. */
    private readonly entered: (err: DataFilePanicError) => void,
  ) {}

  /** The MDB_PANIC error once the environment failed for good (every write fails with it), else null. */
  get error(): DataFilePanicError | null {
    return this.panicked;
  }

  /** `listener` is told once, when the environment fails for good (MDB_PANIC). */
  onPanic(listener: (err: DataFilePanicError) => void): void {
    this.panicListeners.push(listener);
  }

  /**
   * Whether LMDB refuses this environment for good, asked with a read in a read transaction
   * begun or renewed for it (readAfresh), which fails with MDB_PANIC then. Not through the
   * tables: while the start-up replay's journal iterator held their read transaction open,
   * lmdb-js answered from it (begun before the failed commit, and reused as current: that
   * commit moved no txn id), so a snapshot that failed this way during the replay was told as
   * a plain write failure ("the service keeps serving"), the replay went on to "ready" on a
   * file that took no write, and only a probe ~30 s later found it
   * (test/e2e/data-file-panic-start.test.ts). Asked, not taken from `cause`: an error's text
   * is no proof (a plugin's view may throw anything). On the first yes: every write pending
   * is failed with it, and the listeners told. `cause`: what led here (a failed commit, a read's error), for the message.
   * Once the store is closing (close()), answered from what is held, LMDB not asked.
   */
  check(cause: unknown): DataFilePanicError | null {
    if (this.panicked !== null || this.closed) return this.panicked;
    let panic: unknown = null;
    try {
      this.readAfresh();
    } catch (err) {
      if (isLmdbPanic(err)) panic = err;
    }
    if (panic === null) return null;
    const err = new DataFilePanicError(this.file, cause ?? panic);
    this.panicked = err;
    this.entered(err);
    for (const listener of this.panicListeners)
      try {
        listener(err);
      } catch {
        // A listener's failure must not keep the others from hearing.
      }
    return err;
  }

  /**
   * The store is closing: from now on check() asks LMDB nothing, and no listener is told. On a
   * store whose last commit failed (a full disk) close() returns at once, closing the handles
   * without waiting (store-commits.ts); a write queued before it that fails after it went on to
   * its failure handler's check, which read the data file through the closed handle (lmdb-js
   * 3.5.6 refused it: "Can not renew a transaction from a closed database"; a handle still
   * closing would have read). That write still rejects, as a WriteFailedError naming LMDB's cause
   * (test/snapshots/write-failed-close.test.ts); nothing writes again in this process, and the
   * next open reads the file afresh (MDB_PANIC is the process's state, not the file's). A stop
   * learns of a panic before it closes the store (service-stop.ts: the final snapshot's failure).
   */
  close(): void {
    this.closed = true;
  }
}
