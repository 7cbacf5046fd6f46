import { Worker } from 'node:worker_threads';
import { StatscacheError } from '../actors/errors.js';
import type { BusHooks, BusOptions, BusSubscription } from './bus.js';
import { DEFAULT_MAX_IN_FLIGHT } from './bus-budget.js';
import { EndpointSet } from './bus-endpoints.js';
import type { ThreadLimits } from './bus-prepare.js';
import {
  FROM_MICROSECONDS,
  FROM_MILLISECONDS,
  type FromBusThread,
  ITEM_INTS,
  type PackedItems,
  READY,
  type ToBusThread,
  TRUNCATED,
} from './bus-thread-protocol.js';
import type { DecodeErrorReason } from './decode-frames.js';
import type { Envelope, Meta } from './envelope.js';
import { unpackPrepared } from './prepared-head.js';
import { PulseWatch } from './thread-pulse.js';

/** A bus message as the main thread receives it from the bus thread (see bus-prepare.ts). */
export type ThreadMessage =
  | {
      readonly kind: 'ready';
      readonly source: string;
      readonly id: string;
      readonly envelope: Envelope;
      /** The journal record of (id, envelope), stored as is. */
      readonly record: Uint8Array;
      readonly meta: Meta;
      readonly truncated: boolean;
      readonly corrected: 'milliseconds' | 'microseconds' | null;
    }
  | { readonly kind: 'clock'; readonly source: string; readonly frames: readonly Uint8Array[] }
  | { readonly kind: 'rejected'; readonly source: string; readonly reason: DecodeErrorReason; readonly detail: string };

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
}

/** The bus thread made no progress and took no turn of its event loop past --thread-hang-timeout. */
export class BusThreadHungError extends Error {}

/** A start whose bus thread stopped beating before its sockets were open: the start fails (exit 1 from serve). */
function startHung(stillMs: number, hangTimeoutMs: number): StatscacheError {
  return new StatscacheError(
    'SC_BUS_THREAD_HUNG',
    `the bus thread made no progress for ${Math.round(stillMs / 1000)} s while opening its sockets (--thread-hang-timeout ${hangTimeoutMs / 1000} s): stuck, ended; the start fails`,
  );
}

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/bus-worker.js', import.meta.url)
  : new URL('./bus-worker.js', import.meta.url);

/** The source named when the bus thread itself fails. */
export const BUS_THREAD_SOURCE = 'bus-thread';

/**
 * subscribe() with receiving and preparing on another thread (bus-worker.ts). Endpoint
 * states are kept here, from the monitor events the thread forwards, on the service's clock.
 */
export async function subscribeThreaded(
  options: BusOptions,
  thread: ThreadOptions,
  hooks: ThreadedBusHooks,
): Promise<BusSubscription> {
  const hangTimeoutMs = thread.hangTimeoutMs ?? 0;
  /** Set until the thread says its sockets are open: a stall then fails the start instead. */
  let failStart: ((err: Error) => void) | null = null;
  const watch = new PulseWatch(hangTimeoutMs, (stillMs) => {
    if (failStart !== null) {
      failStart(startHung(stillMs, hangTimeoutMs));
      // Stuck in JavaScript, it is interrupted; in a native call, the exit of the process ends it.
      void worker.terminate();
      return;
    }
    endLoop(
      new BusThreadHungError(
        `the bus thread made no progress for ${Math.round(stillMs / 1000)} s (--thread-hang-timeout ${hangTimeoutMs / 1000} s): stuck, ended`,
      ),
      BUS_THREAD_SOURCE,
    );
  });
  const worker = new Worker(WORKER_URL, {
    workerData: {
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
      pulse: watch.buffer,
    },
  });
  const endpoints = new EndpointSet(options.connect, hooks);
  const send = (message: ToBusThread) => worker.postMessage(message);
  let closing = false;
  let chain: Promise<void> = Promise.resolve();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Every batch the thread handed over is handled (journaled) before the subscription is done:
  // they were received, and ZeroMQ will not deliver them again.
  const done = exited.then(() => chain.catch(() => undefined));

  // Watched from its first beat, not only once its sockets are open: a thread stuck opening
  // them held the start in "starting" for good, /healthz answering 200.
  watch.start();
  const bound = await new Promise<readonly string[]>((resolve, reject) => {
    failStart = reject;
    const onStartExit = (code: number) =>
      reject(new Error(`the bus thread exited (code ${code}) before it opened its sockets`));
    worker.once('exit', onStartExit);
    worker.once('error', reject);
    worker.on('message', (message: FromBusThread) => {
      switch (message.type) {
        case 'ready':
          failStart = null;
          worker.off('exit', onStartExit);
          worker.off('error', reject);
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
      }
    });
  }).catch((err: unknown) => {
    // A start that failed (refused, exited, hung) leaves nothing to watch.
    watch.stop();
    throw err;
  });
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
  function endLoop(err: unknown, source: string): void {
    if (closing) return;
    shutdown();
    hooks.onLoopEnd(err, source);
  }

  function shutdown(): void {
    closing = true;
    watch.stop();
    send({ type: 'close' });
    // A thread that does not end by itself (a socket that will not close) must not hold the process.
    setTimeout(() => void worker.terminate(), 2000).unref();
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
    const messages: ThreadMessage[] = [];
    const ints = new Int32Array(batch.items);
    let start = 0;
    let other = 0;
    for (let i = 0; i < batch.count; i++) {
      const at = i * ITEM_INTS;
      const flags = ints[at] as number;
      const source = batch.sources[ints[at + 1] as number] ?? BUS_THREAD_SOURCE;
      if ((flags & READY) !== 0) {
        const from = start;
        const end = ints[at + 2] as number;
        start = ints[at + 3] as number;
        try {
          const { id, meta, envelope, record } = unpackPrepared(buffer, from, end, start);
          messages.push({
            kind: 'ready',
            source,
            id,
            envelope,
            record,
            meta,
            truncated: (flags & TRUNCATED) !== 0,
            corrected:
              (flags & FROM_MILLISECONDS) !== 0
                ? 'milliseconds'
                : (flags & FROM_MICROSECONDS) !== 0
                  ? 'microseconds'
                  : null,
          });
        } catch (err) {
          if (!receiveError(err, source)) return;
        }
        continue;
      }
      const item = batch.others[other++];
      if (item === undefined) {
        // Cannot happen: the thread adds one to `others` for each item without READY.
        if (!receiveError(new Error('a bus thread batch lists more unprepared items than it carries'), source)) return;
        continue;
      }
      if (item.k === 'clock') messages.push({ kind: 'clock', source, frames: item.f });
      else messages.push({ kind: 'rejected', source, reason: item.r, detail: item.d });
    }
    try {
      await hooks.onBatch(messages);
    } catch (err) {
      if (!receiveError(err, messages[0]?.source ?? BUS_THREAD_SOURCE)) return;
    }
    if (!closing) send({ type: 'ack', count: batch.count, bytes: batch.bytes });
  }

  return {
    bound,
    connected: [...options.connect],
    done,
    endpoints: () => endpoints.statuses(),
    close: () => {
      if (!closing) shutdown();
    },
  };
}
