/**
 * How the bus thread's watch ends a start or a thread that hangs: the errors it gives
 * (BusThreadHungError, StartGivenUpError, startHung's SC_BUS_THREAD_HUNG) and how a thread whose
 * start failed is ended (endOnceLoaded). Its own file as the failure side of bus-thread.ts's
 * subscribeThreaded, which keeps the handshake and the batches.
 */
import type { Worker } from 'node:worker_threads';
import { StatscacheError } from '../actors/errors.js';
import { terminateWhenEndable } from './process-exit.js';
import type { PulseBounds, PulseStage } from './thread-pulse.js';

/** The bus thread made no progress and took no turn of its event loop past --thread-hang-timeout. */
export class BusThreadHungError extends Error {}

/**
 * A running thread that hung: ended at once, or, with its zeromq reads pending (`letGo`: a
 * --connect socket's monitor), let go (bus-thread.ts shutdown); the line said "ended" for both.
 */
export function threadHung(stillMs: number, hangMs: number, letGo: boolean): BusThreadHungError {
  const fate = letGo ? 'let go (its zeromq reads pending: ending it would abort the process)' : 'ended';
  return new BusThreadHungError(
    `the bus thread made no progress for ${Math.round(stillMs / 1000)} s (--thread-hang-timeout ${hangMs / 1000} s): stuck, ${fate}`,
  );
}

/**
 * A start whose bus thread stopped beating before its sockets were open, or never beat at all
 * (stuck loading its modules): the start fails (exit 1 from serve).
 */
export function startHung(stillMs: number, stage: PulseStage, bounds: PulseBounds): StatscacheError {
  const seconds = Math.round(stillMs / 1000);
  return new StatscacheError(
    'SC_BUS_THREAD_HUNG',
    stage === 'loading'
      ? `the bus thread gave no sign of life for ${seconds} s after it was created, loading its modules (--thread-start-timeout ${bounds.startMs / 1000} s): stuck, ended; the start fails`
      : `the bus thread made no progress for ${seconds} s while opening its sockets (--thread-hang-timeout ${bounds.hangMs / 1000} s): stuck, ended; the start fails`,
  );
}

/**
 * Ends a thread whose start failed or was given up, once it may be (process-exit.ts
 * terminateWhenEndable), however long that takes: terminate() while zeromq's addon loads in it aborts
 * the process (SIGABRT: a vitest worker died so, and `serve` would have instead of exiting 1),
 * and on a machine loaded to ~20 the load outlasted a one-second --thread-start-timeout, or the
 * second a given-up start used to wait. Let go (unref'd) meanwhile: given up before it began, it
 * opens nothing, and one that never loads must not keep the process alive.
 */
export function endOnceLoaded(worker: Worker): void {
  worker.unref();
  terminateWhenEndable(worker);
}

/** The service stopped while its bus thread had not begun: the thread was ended, nothing was opened. */
export class StartGivenUpError extends Error {}
