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

/**
 * A paced step's pause (its hook, then the event loop's turn), given up when `signal` aborts:
 * true when the walk is to stop there. The journal trim and the retirement of slots past
 * --snapshot-generations pause alike.
 */
export async function stoppedInPause(
  onStep: (() => unknown) | undefined,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const step = (async () => {
    await onStep?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  })();
  try {
    await cancellable(step, signal);
    return false;
  } catch (err) {
    if (err instanceof WalkCancelledError) return true;
    throw err;
  }
}
