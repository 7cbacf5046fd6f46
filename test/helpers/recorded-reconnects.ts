/** The set-up bound the recorder is given: a timer of its length is that bound's, never a reconnect. */
const SETUP_TIMEOUT_MS = 3_600_000;

/**
 * AmqpInput options that read its reconnect schedule off an injected timer instead of waiting
 * for it: each delay asked for is pushed on `delays`, and `fire[i]` runs the i-th one. Each
 * connection's set-up bound is a timer too; it is set to an hour, never fires here and is not
 * a reconnect delay.
 */
export function recordedReconnects() {
  const delays: number[] = [];
  const fire: (() => void)[] = [];
  return {
    delays,
    fire,
    options: {
      setupTimeoutMs: SETUP_TIMEOUT_MS,
      setTimer: (fn: () => void, ms: number): (() => void) => {
        if (ms === SETUP_TIMEOUT_MS) return () => {};
        delays.push(ms);
        fire.push(fn);
        return () => {};
      },
    },
  };
}
