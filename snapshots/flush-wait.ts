/**
 * close()'s wait for LMDB's flush (store-commits.ts), cut short by a write that fails meanwhile.
 * lmdb-js rejects `flushed` with its bare "Commit failed" when the commit it follows fails, and
 * may settle it never: with overlapping sync it did after any failed commit, and it does for a
 * commit whose outcome it loses (append-settlement.ts). A write's own failure handler (told
 * here) names the cause either way.
 */
import { type WriteFailedError, writeFailure } from './store-write-errors.js';

export class FlushWait {
  /** Set while a wait is on: settles it with the failure told. */
  private waiting: ((failure: WriteFailedError) => void) | null = null;

  /** Null once `flushed` resolves; the failure, named, once it rejects or a write's failure is told. */
  async wait(flushed: PromiseLike<unknown> | undefined): Promise<WriteFailedError | null> {
    try {
      return await new Promise<WriteFailedError | null>((resolve) => {
        this.waiting = resolve;
        // Adopted, not called: a read-only environment's is undefined (nothing to wait for).
        Promise.resolve(flushed).then(
          () => resolve(null),
          (err: unknown) => void writeFailure(err).then(resolve),
        );
      });
    } finally {
      this.waiting = null;
    }
  }

  /** A write failed, its cause named: a wait on now settles with it. Returns `failure`. */
  tell(failure: WriteFailedError): WriteFailedError {
    this.waiting?.(failure);
    return failure;
  }
}
