/** What the stop watch's two sides share (stop-watch.ts, stop-watch-worker.ts); apart, so the thread loads nothing more. */

/** The stop watch thread's state, in its shared int32: booting, idle (waiting to be armed), armed. */
export const WATCH_BOOTING = 0;
export const WATCH_IDLE = 1;
export const WATCH_ARMED = 2;

/** What the thread is given. */
export interface StopWatchData {
  readonly state: SharedArrayBuffer;
}

/** The one message the thread is sent: the stop began. */
export interface StopWatchArm {
  /** Why the process stops: the signal, or 'intake failed'. */
  readonly reason: string;
  readonly stopTimeoutMs: number;
  readonly marginMs: number;
  /** When the stop began and when the process is killed, on monotonicMs()'s clock. */
  readonly armedMs: number;
  readonly deadlineMs: number;
}

/** One clock for both threads, which wall-clock steps do not move: libuv's monotonic clock. */
export const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);
