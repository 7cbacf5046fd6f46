/**
 * A paced read of the store (a walk that holds its range's read transaction across event-loop
 * turns) ended because the service is closing: the store is about to close, and a walk that read
 * on from it failed with LMDB's MDB_BAD_TXN, or lmdb-js's read-transaction timer threw
 * "Attempt to reset an invalid read txn" in the embedder's process, uncaught.
 */
export class WalkCancelledError extends Error {
  override readonly name: string = 'WalkCancelledError';

  constructor() {
    super('the read was cancelled because the service is closing');
  }
}

/**
 * `step` (a walk's pause between two turns), given up as soon as `signal` aborts: the walk then
 * throws WalkCancelledError from the pause, and leaving its loop lets its range go. A pause held
 * (a test's hook, a slow step) does not hold close() with it.
 */
export function cancellable(step: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return step.then(() => undefined);
  if (signal.aborted) return Promise.reject(new WalkCancelledError());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new WalkCancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    step.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(new WalkCancelledError());
        else resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
