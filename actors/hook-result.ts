/**
 * What a plugin hook returned, refused when it is a promise. Registration refuses async hooks
 * (definition-hooks.ts), but a plain function can still return a promise: its work after the
 * first await lands outside what the runtime undoes or reads, and if it rejects, nobody handles
 * the rejection and Node ends the process for it. A `view` or `viewIsRows` is called with the
 * parameters of any HTTP or WebSocket client, so one request could take the service down.
 */

export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') &&
  v !== null &&
  typeof (v as { then?: unknown }).then === 'function';

/** Swallows the promise's outcome (a rejection then ends nothing) and throws a TypeError saying `why`, as if the hook threw. */
export function refusePromise(result: PromiseLike<unknown>, why: string): never {
  result.then(undefined, () => undefined);
  throw new TypeError(why);
}

/** `result`, unless it is a promise (then refusePromise). */
export function notPromise<T>(result: T, why: string): T {
  if (isThenable(result)) refusePromise(result, why);
  return result;
}
