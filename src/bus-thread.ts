import { StatscacheError } from '../actors/errors.js';
import type { BusOptions, BusSubscription } from './bus.js';
import { type BusThreadFlow, SharedCredit } from './bus-credit.js';
import { EndpointSet } from './bus-endpoints.js';
import { BUS_THREAD_SOURCE, unpackBatch } from './bus-thread-batch.js';
import { busWorkerData, type ThreadedBusHooks, type ThreadOptions } from './bus-thread-options.js';
import type { FromBusThread, PackedItems, ToBusThread } from './bus-thread-protocol.js';
import { busWorker } from './bus-thread-ahead.js';
import { endOnceLoaded, StartGivenUpError, startHung, threadHung } from './bus-thread-failures.js';
import { closeAtExit, endableAfter, endThread, loadedOf, trackThread } from './process-exit.js';
import { PulseWatch } from './thread-pulse.js';

export type { BusThreadFlow } from './bus-credit.js';
export { BUS_THREAD_SOURCE, type ThreadMessage } from './bus-thread-batch.js';
export type { ThreadedBusHooks, ThreadOptions } from './bus-thread-options.js';

/** A subscription whose receiving is on the bus thread. */
export interface ThreadedSubscription extends BusSubscription {
  /** What the thread has read and the main thread has taken in, and whether it waits for credit. */
  flow(): BusThreadFlow;
}

/** How long a closing thread is waited for before it is ended, and then before it is let go. */
const CLOSE_WAIT_MS = 2000;

/**
 * subscribe() with receiving and preparing on another thread (bus-worker.ts). Endpoint
 * states are kept here, from the monitor events the thread forwards, on the service's clock.
 * `stopping` (the service's stop) gives the start up while the thread has not begun (stuck
 * loading, up to --thread-start-timeout: it held the stop past --stop-timeout, exit 1 with no
 * final snapshot): the thread is ended and the subscription rejects with StartGivenUpError.
 */
export async function subscribeThreaded(
  options: BusOptions,
  thread: ThreadOptions,
  hooks: ThreadedBusHooks,
  stopping?: AbortSignal,
): Promise<ThreadedSubscription> {
  const hangTimeoutMs = thread.hangTimeoutMs ?? 0;
  const bounds = { hangMs: hangTimeoutMs, startMs: thread.startTimeoutMs ?? 0 };
  /** Set until the thread says its sockets are open: a stall then fails the start instead. */
  let failStart: ((err: Error) => void) | null = null;
  const watch = new PulseWatch(bounds, (stillMs, stage) => {
    if (failStart !== null) {
      failStart(startHung(stillMs, stage, bounds));
      // Never beaten (loading): given up, so should it get going it opens nothing (Pulse.begin).
      watch.giveUp();
      // Stuck in JavaScript, it is interrupted. Stuck in a native call it is not, and neither
      // would process.exit() end it (Node joins its worker threads): the CLI's exitProcess
      // leaves without it (process-exit.ts).
      endOnceLoaded(worker);
      return;
    }
    // Stuck: it will not close its sockets when asked, so it is ended at once (let go with --connect).
    endLoop(threadHung(stillMs, hangTimeoutMs, options.connect.length > 0), BUS_THREAD_SOURCE, true);
  });
  const credit = new SharedCredit();
  const releasedFlag = new Int32Array(new SharedArrayBuffer(4));
  const { worker, wasAhead } = busWorker(
    busWorkerData(options, thread, watch.buffer, credit.buffer, releasedFlag.buffer as SharedArrayBuffer),
  );
  // One created ahead is tracked already, with its own load watched from its creation.
  trackThread(worker, 'the bus thread', wasAhead ? undefined : loadedOf(worker));
  const endpoints = new EndpointSet(options.connect, hooks);
  const send = (message: ToBusThread) => worker.postMessage(message);
  let closing = false;
  let chain: Promise<void> = Promise.resolve();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let abandon: () => void = () => undefined;
  const abandoned = new Promise<void>((resolve) => (abandon = resolve));
  /** Its zeromq reads are over ('released'), or it has exited: ending it cannot abort the process. */
  let isReleased = false;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = () => {
      isReleased = true;
      resolve();
    };
  });
  void exited.then(release);
  // Every batch the thread handed over is handled (journaled) before the subscription is done:
  // they were received, and ZeroMQ will not deliver them again. A thread stuck in a native call
  // never exits, and held the stop (final snapshot included) until --stop-timeout: it is
  // abandoned instead, as nothing more comes from it.
  const done = Promise.race([exited, abandoned]).then(() => chain.catch(() => undefined));

  // Watched from its creation, not only once its sockets are open: a thread stuck opening them,
  // or loading its modules, held the start in "starting" for good, /healthz answering 200.
  watch.start();
  /** Anything heard from the thread: one created ahead that ended before a word was never taken. */
  let heard = false;
  let onStopping: () => void = () => undefined;
  const bound = await new Promise<readonly string[] | null>((resolve, reject) => {
    failStart = reject;
    // Created ahead, it ended before it was taken, its end not yet seen then (the main thread
    // was busy): another is created in its place (null), as for one whose end was seen in time.
    const diedAhead = () => wasAhead && !heard;
    const onStartExit = (code: number) =>
      diedAhead()
        ? resolve(null)
        : reject(new Error(`the bus thread exited (code ${code}) before it opened its sockets`));
    // Its exit follows.
    const onStartError = (err: Error) => diedAhead() || reject(err);
    worker.once('exit', onStartExit);
    worker.once('error', onStartError);
    // A stop while it has not begun (loading, or stuck there) does not wait for it: it has
    // opened nothing and never will (Pulse.begin). Begun, it is waited for and closed as before.
    onStopping = () => {
      if (!watch.giveUp()) return;
      reject(new StartGivenUpError('the service stopped while the bus thread was starting'));
      endOnceLoaded(worker);
    };
    if (stopping?.aborted) onStopping();
    else stopping?.addEventListener('abort', onStopping, { once: true });
    worker.on('message', (message: FromBusThread) => {
      // Said by every thread as it is loaded: not a word of its start (diedAhead).
      if (message.type === 'loaded') return;
      heard = true;
      switch (message.type) {
        case 'ready':
          failStart = null;
          worker.off('exit', onStartExit);
          worker.off('error', onStartError);
          resolve(message.bound);
          return;
        case 'open-failed':
          // A coded refusal crosses the thread as its code and message: the same error again.
          reject(
            message.code === 'SC_BUS_BIND_FAILED'
              ? new StatscacheError(message.code, message.message.replace(`${message.code}: `, ''))
              : Object.assign(new Error(message.message), { code: message.code }),
          );
          return;
        case 'batch': {
          const batch = message;
          // In order, one at a time: a paused batch (start-up gate, backpressure) holds the ones behind it.
          chain = chain.then(() => handle(batch, batch.buffer));
          return;
        }
        case 'monitor':
          endpoints.event(message.source, message.event);
          return;
        case 'receive-error':
          hooks.onReceiveError(new Error(message.message), message.source);
          return;
        case 'loop-end':
          if (!closing) hooks.onLoopEnd(message.message === null ? null : new Error(message.message), message.source);
          return;
        case 'released':
          release();
          return;
      }
    });
  })
    .catch((err: unknown) => {
      // A start that failed (refused, exited, hung, given up) leaves nothing to watch.
      watch.stop();
      throw err;
    })
    .finally(() => stopping?.removeEventListener('abort', onStopping));
  if (bound === null) {
    watch.stop();
    return subscribeThreaded(options, thread, hooks, stopping);
  }
  // An exit that comes before the service's stop closed it (an uncaught exception, a bare
  // process.exit()) closes it first: ended with its reads pending, it aborted the process.
  closeAtExit(
    worker,
    () => {
      if (!closing) shutdown();
    },
    releasedFlag,
  );
  worker.on('error', (err) => {
    if (!closing) hooks.onLoopEnd(err, BUS_THREAD_SOURCE);
  });
  worker.on('exit', (code) => {
    watch.stop();
    if (!closing) hooks.onLoopEnd(new Error(`the bus thread exited (code ${code})`), BUS_THREAD_SOURCE);
  });

  /**
   * The receive path's own error handling threw: nothing is left to catch the next failure,
   * so the loop ends, as a single-thread receive loop does when its handler's handler throws.
   */
  function endLoop(err: unknown, source: string, hung = false): void {
    if (closing) return;
    shutdown(hung ? 0 : CLOSE_WAIT_MS, hung);
    hooks.onLoopEnd(err, source);
  }

  function shutdown(closeWaitMs = CLOSE_WAIT_MS, hung = false): void {
    closing = true;
    watch.stop();
    send({ type: 'close' });
    // A thread that does not end by itself (a socket that will not close) must not hold the
    // process; one stuck in a native call is not ended by terminate() either, and is let go.
    // One that has not said 'released' has zeromq reads pending, and ended so it aborted the
    // process ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT before
    // the final snapshot): it is starved (the whole process SCHED_IDLE beside CPU hogs, 2 stops
    // in 14 past this wait) or stuck, and is let go instead, at the exit too (process-exit.ts
    // leaves it behind). A hung one will never close them: it is ended only if it has none
    // (--bind alone: that socket's monitor is made at the close, and its one receive is not
    // pending while the thread spins in its handler). With --connect, a monitor reads all along
    // and terminate() aborted the process, every hang: it is let go too, left spinning.
    endableAfter(worker, released);
    const readsWhileHung = options.connect.length > 0;
    setTimeout(() => {
      if (isReleased || (hung && !readsWhileHung)) void endThread(worker);
      setTimeout(abandon, CLOSE_WAIT_MS).unref();
    }, closeWaitMs).unref();
  }

  function receiveError(err: unknown, source: string): boolean {
    try {
      hooks.onReceiveError(err, source);
      return true;
    } catch (fatal) {
      endLoop(fatal, source);
      return false;
    }
  }

  /**
   * Closing too: a batch handed over was received, and a stop (or intake that died) dropped it
   * unjournaled; only a --datagrepper backfill at the next start could bring it back.
   */
  async function handle(batch: PackedItems & { readonly bytes: number }, buffer: ArrayBuffer): Promise<void> {
    const messages = unpackBatch(batch, buffer, receiveError);
    if (messages === null) return;
    try {
      await hooks.onBatch(messages);
    } catch (err) {
      if (!receiveError(err, messages[0]?.source ?? BUS_THREAD_SOURCE)) return;
    }
    // Closing, the thread no longer waits for credit: it hands its last batch over regardless.
    if (credit.take(batch.count, batch.bytes) && !closing) send({ type: 'wake' });
  }

  return {
    bound,
    connected: [...options.connect],
    done,
    endpoints: () => endpoints.statuses(),
    flow: () => credit.flow(),
    close: () => {
      if (!closing) shutdown();
    },
  };
}
