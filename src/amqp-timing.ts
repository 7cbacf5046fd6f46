/** The input's waits: reconnect back-off, the set-up and close bounds, and the timer they run on. */

/** The `attempt`th wait (from 1) of a back-off doubling from `initialMs` to `maxMs`. */
export function backoffStep(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/** Equal jitter: half the exponential step is fixed, half random, so restarts do not stampede. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const step = backoffStep(attempt, initialMs, maxMs);
  return Math.round(step / 2 + random() * (step / 2));
}

export const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** Longest wait for the broker's answer to each step of a close (cancel, channel close, connection close). */
export const CLOSE_STEP_MS = 3000;

/**
 * Longest a connection may take from the TCP connect to consuming (login, channel, queue,
 * bindings). amqplib waits for the broker's handshake without end, and heartbeats only start
 * once it is done: a peer that accepted the connection and never answered (a wedged broker or
 * proxy, a path that dropped after the SYN) held the input at `connecting` for good, no retry
 * ever made, so it never recovered once the broker did. RabbitMQ's own handshake timeout is 10 s.
 */
export const SETUP_TIMEOUT_MS = 30_000;

/** True if `p` settles (either way) within `ms`; false once the timer fires first. */
export function settlesWithin(
  p: Promise<unknown>,
  ms: number,
  setTimer: (fn: () => void, ms: number) => () => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = setTimer(() => resolve(false), ms);
    p.then(
      () => {
        cancel();
        resolve(true);
      },
      () => {
        cancel();
        resolve(true);
      },
    );
  });
}
