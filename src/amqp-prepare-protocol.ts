/** What crosses between the main thread and the AMQP prepare thread (amqp-prepare-thread.ts). */
import type { Corrected } from './envelope-limits.js';
import type { WireDelivery } from './amqp-prepare.js';
import type { ThreadLimits } from './bus-prepare.js';
import type { DecodeErrorReason } from './decode-frames.js';

export interface PrepareWorkerData {
  readonly limits: ThreadLimits;
  /** The service runs on the system clock: a delivery without `sent-at` is stamped on the thread. */
  readonly fillTimestamps: boolean;
  /** The thread's Pulse (thread-pulse.ts). */
  readonly pulse: SharedArrayBuffer;
}

/** One delivery handed over, its content in a buffer of its own (transferred). */
export interface PrepareJob {
  readonly job: number;
  readonly delivery: WireDelivery;
}

/**
 * Main thread → prepare thread: the deliveries handed over in one turn of the event loop, in
 * order. One message per turn, not per delivery: a message costs the main thread tens of µs
 * whatever it carries, as much as decoding a small body there.
 */
export interface ToPrepareThread {
  readonly jobs: readonly PrepareJob[];
}

/**
 * Prepare thread → main thread: `up` once, when its modules are loaded and it listens (a fresh
 * thread started after a failure is handed deliveries only from then on); then, per message
 * received, the answer to each of its jobs, in order.
 */
export type FromPrepareThread =
  | { readonly kind: 'up' }
  | { readonly kind: 'answers'; readonly answers: readonly PrepareAnswer[] };

/**
 * The answer to one job. `ready`: the journal record in [0, recordEnd) of
 * `buffer`, the encoded head (prepared-head.ts) after it. `clock`: no `sent-at` and no clock to
 * fill it with; `failed`: preparing threw. Both are then prepared on the main thread.
 */
export type PrepareAnswer = { readonly job: number } & (
  | {
      readonly kind: 'ready';
      readonly buffer: ArrayBuffer;
      readonly recordEnd: number;
      readonly truncated: boolean;
      readonly corrected: Corrected;
      readonly filled: boolean;
    }
  | { readonly kind: 'rejected'; readonly reason: DecodeErrorReason; readonly detail: string }
  | { readonly kind: 'clock' }
  | { readonly kind: 'failed'; readonly message: string }
);
