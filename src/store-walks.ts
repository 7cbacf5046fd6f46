import { SnapshotCancelledError } from '../snapshots/snapshot-cancelled.js';

/**
 * Paced reads of the store started from HTTP (the admin snapshot's generation size walk, a
 * filtered /raw scan), each holding a range's read transaction across turns. close() and stop()
 * end them before the store closes: close() cancels them at the pause they wait in
 * (WalkCancelledError), stop() waits them out, as it waits out the admin snapshot they follow (a
 * scan is ended by the service's own abort, at stop() and close() alike, and only waited for
 * here). Untracked, close() closed the store under one and it read on from the closed file
 * (MDB_BAD_TXN).
 */
export class StoreWalks {
  readonly #running = new Set<Promise<unknown>>();
  readonly #cancel = new AbortController();
  #closed = false;

  /** Runs `walk`, given the signal close() aborts; refused (SnapshotCancelledError) once closing. */
  run<T>(walk: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new SnapshotCancelledError(true));
    return this.follow(walk(this.#cancel.signal));
  }

  /** Waits for `walk` too (a filtered /raw scan, which its route ends by its own signal), refusing nothing. */
  follow<T>(walk: Promise<T>): Promise<T> {
    const settled = walk.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return walk;
  }

  /** No walk starts from now on; with `cancel`, those running end at their pause. Settles once none runs. */
  async close(options: { readonly cancel?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (options.cancel === true) this.#cancel.abort();
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}
