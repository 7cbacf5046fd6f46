import type { BusHooks, BusOptions } from './bus.js';
import { DEFAULT_MAX_IN_FLIGHT } from './bus-budget.js';
import type { ThreadLimits } from './bus-prepare.js';
import type { ThreadMessage } from './bus-thread-batch.js';

export interface ThreadedBusHooks extends Omit<BusHooks, 'onFrames'> {
  /** One batch, in arrival order; the next is handed over once the returned promise settles. */
  readonly onBatch: (messages: readonly ThreadMessage[]) => void | Promise<void>;
}

export interface ThreadOptions {
  readonly limits: ThreadLimits;
  /** Messages handed over and not yet processed, beyond which the bus thread stops receiving (libzmq queues). */
  readonly maxInFlight?: number;
  /**
   * Bytes likewise (records, heads, frames the main thread decodes itself): beyond them the bus
   * thread stops receiving too (--bus-queue-max-bytes; bus-budget.ts). Unset: messages only.
   */
  readonly maxInFlightBytes?: number;
  /**
   * The service's clock is the system clock (`systemClock`: Date.now()), which this thread can
   * read as well: a message without a timestamp is stamped and prepared here like any other.
   * The main thread decoded such a message itself, and a large one is costly (a 700 KB body of
   * 49 k unsorted members: ~150 ms of its time, bench/untimed-intake.ts), so a publisher sending
   * them held up HTTP, pushes and snapshots. The reading is the expression the main thread's
   * would be (Date.now() / 1000: its units, its rounding), taken when the message is received
   * instead of when the main thread takes it in: earlier by its time in flight (the batch's
   * linger, at most --bus-linger; a wait for credit while the main thread is behind; at
   * start-up, the hold until replay and backfill are done). That is the receive time the fill
   * stands for (README), and the delay a timestamped message's lag already shows; messages keep
   * their arrival order, and their stamps the wall clock's. Unset or false (an injected clock,
   * as tests use), no other thread can read that clock: the main thread fills them in as
   * before. A reading shared through memory instead would be the value the main thread last
   * wrote there, not the clock's reading when the message came, for either kind of clock.
   */
  readonly fillTimestamps?: boolean;
  /** Never sleep on the socket through a batch's linger (libzmq's queue is short: bus-worker.ts). */
  readonly readThrough?: boolean;
  /** Most messages per batch. */
  readonly maxBatch?: number;
  /** Longest a message waits for others to share its batch (ms); 0: handed over on the next turn. */
  readonly lingerMs?: number;
  /**
   * The push tick (ms), fired on wall-clock multiples (`Clock.aligned`): a lingering batch is
   * handed over before the next one (bus-linger.ts). 0: no tick to keep to.
   */
  readonly tickMs?: number;
  /**
   * Longest the thread may go without a beat (thread-pulse.ts) once its sockets are open: past
   * it the thread is stuck, and the receive loop ends with a BusThreadHungError (ms;
   * --thread-hang-timeout; 0 or unset: never).
   */
  readonly hangTimeoutMs?: number;
  /**
   * Longest from the thread's creation to its first beat (loading its modules): past it the start
   * fails with SC_BUS_THREAD_HUNG (ms; --thread-start-timeout; 0 or unset: never).
   */
  readonly startTimeoutMs?: number;
}

/**
 * What the bus thread (bus-worker.ts) is started with: the bus's options and the thread's, each
 * default filled in, `pulse`, the buffer it beats on (thread-pulse.ts), and `released`, one
 * Int32 it sets to 1 as it says 'released' (an exit that cannot wait for a message waits on it).
 */
export function busWorkerData(
  options: BusOptions,
  thread: ThreadOptions,
  pulse: SharedArrayBuffer,
  credit: SharedArrayBuffer,
  released: SharedArrayBuffer,
) {
  return {
    options: {
      connect: [...options.connect],
      bind: [...options.bind],
      topics: [...options.topics],
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.queueMax === undefined ? {} : { queueMax: options.queueMax }),
      ...(options.bindQueueMax === undefined ? {} : { bindQueueMax: options.bindQueueMax }),
      ...(options.keepaliveSeconds === undefined ? {} : { keepaliveSeconds: options.keepaliveSeconds }),
    },
    limits: { ...thread.limits },
    maxInFlight: thread.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    maxInFlightBytes: thread.maxInFlightBytes ?? Number.POSITIVE_INFINITY,
    maxBatch: thread.maxBatch ?? 512,
    lingerMs: thread.lingerMs ?? 0,
    tickMs: thread.tickMs ?? 0,
    readThrough: thread.readThrough ?? false,
    fillTimestamps: thread.fillTimestamps ?? false,
    pulse,
    credit,
    released,
  };
}
