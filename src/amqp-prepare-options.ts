/**
 * What the AMQP prepare thread (amqp-prepare-thread.ts) is given, and the bounds the service
 * gives it: here, so the service's wiring and the inputs' dependencies name them without
 * loading the thread's runtime.
 */
import type { ThreadLimits } from './bus-prepare.js';
import type { Clock } from './clock.js';

export interface PrepareThreadOptions {
  readonly limits: ThreadLimits;
  /** The service runs on the system clock (as the bus thread's fillTimestamps: bus-thread-options.ts). */
  readonly fillTimestamps: boolean;
  /** Smallest body handed over: below it the hand-over costs the main thread more than the decode. */
  readonly minBytes: number;
  /**
   * Most body bytes handed over and not yet answered (each is a copy on the thread, decoded
   * there into several times its size); past it deliveries wait here, in order, where amqplib
   * holds them anyway. One is always let through, whatever its size.
   */
  readonly maxInFlightBytes: number;
  /** --thread-hang-timeout and --thread-start-timeout, ms (0: not watched). */
  readonly hangTimeoutMs: number;
  readonly startTimeoutMs: number;
  /** --amqp-thread-restarts: fresh threads started in a row after failures (0: none). */
  readonly restarts: number;
  /** The service's clock (tests drive it by hand): when a thread came up, and when a fresh one is started. */
  readonly clock: Clock;
  /**
   * The thread is gone: every delivery is prepared on the main thread until a fresh one is up,
   * started in `restartInMs`; null: none will be, for the rest of the run.
   */
  readonly onFailed: (reason: string, restartInMs: number | null) => void;
  /** A fresh thread is up and takes large deliveries again (`restart`: which one in a row). */
  readonly onRestarted: (restart: number) => void;
}

/**
 * Bodies this large and larger go to the thread (--amqp-thread). The hand-over (a copy, two
 * messages, unpacking the head) costs the main thread ~40-100 µs whatever the size; decoding
 * there grows with it. bench/amqp-thread-threshold.ts, main-thread µs per delivery, decoded
 * there vs handed over (3 rounds of 500): fixture bodies under 1 KB 13-55 vs 38-49, of 1-4 KB
 * 49-606 vs 42-115 (within noise once warm), of 4 KB and more 400-578 vs 86-100; 11 KB of
 * 1000 unsorted keys 1066-1266 vs 53-197, 37 KB of 3000 7754-8593 vs 386-506. Below 4 KiB a
 * delivery also keeps today's path: journaled in the turn it arrives, no thread latency.
 */
export const AMQP_THREAD_MIN_BYTES = 4 * 1024;

/** PrepareThreadOptions.maxInFlightBytes: a few large bodies, copies on the thread and their decoded forms. */
export const AMQP_THREAD_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
