// For the MDB_PANIC child scripts (panicked-store, panicked-start, panicked-iterating): how a
// promise settled, as one JSON-able value, bounded: a write lmdb-js never settles after a failed
// commit must show as such rather than hang the child.

/** 'ok', the error's name/code/message, or 'never settled' past `boundMs` (a timer that holds the process open meanwhile). */
export function settledOutcome(promise, boundMs = 10_000) {
  let timer;
  const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('never settled'), boundMs)));
  const settled = promise.then(
    () => 'ok',
    (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e) }),
  );
  return Promise.race([settled, bound]).finally(() => clearTimeout(timer));
}
