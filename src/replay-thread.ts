import { Worker } from 'node:worker_threads';
import type { JournalEntry, ShapeBounds } from '../snapshots/journal.js';
import { unpackPrepared } from './prepared-head.js';
import type { FromReplayThread, ReplayWorkerData, ToReplayThread } from './replay-thread-protocol.js';
import { loadedOf, trackThread, terminateWhenEndable } from './process-exit.js';
import { PulseWatch } from './thread-pulse.js';
import { settledWithin } from './settled-within.js';

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/replay-worker.js', import.meta.url)
  : new URL('./replay-worker.js', import.meta.url);

/**
 * How long a replay thread left early is waited for after it is told to stop (it stops at its
 * next record), then after it is ended; one stuck in a native call is then let go (unref'd).
 */
const END_WAIT_MS = 2000;

/** The replay thread failed or exited early; entries it handed over before are good. */
export class ReplayThreadError extends Error {
  /** It was ended for making no progress (--thread-hang-timeout). */
  readonly hung: boolean;

  constructor(message: string, hung = false) {
    super(message);
    this.hung = hung;
  }
}

export interface ReplayBatch {
  /** In seq order; each with its meta derived and its body read from its record on use. */
  readonly entries: readonly JournalEntry[];
  /** Entries whose meta was cut to the fan-out cap. */
  readonly truncated: number;
  /** Records that failed their checksum, skipped. */
  readonly corrupt: number;
}

/** What replayBatches reads and how (not startup-replay.ts's ReplayThreadOptions, the service's setting). */
export interface ReplayBatchesOptions {
  readonly dir: string;
  readonly after: number;
  readonly shape: ShapeBounds | undefined;
  readonly maxFanout: number;
  readonly batch?: number;
  readonly maxInFlight?: number;
  /**
   * Longest the thread may go without a beat (thread-pulse.ts) before it is ended and this
   * throws, as for any failure (ms; --thread-hang-timeout; 0 or unset: never).
   */
  readonly hangTimeoutMs?: number;
  /**
   * Longest from the thread's creation to its first beat (loading its modules) before it is
   * ended and this throws likewise (ms; --thread-start-timeout; 0 or unset: never).
   */
  readonly startTimeoutMs?: number;
  /**
   * The service's stop or close: a consumer waiting for the next batch is let go at once (the
   * generator returns), and the thread is stopped and waited for.
   */
  readonly signal?: AbortSignal;
}

/**
 * The committed journal records after `after`, read and prepared on another thread
 * (replay-worker.ts), one batch per yield; the next is asked for when the consumer comes back
 * for it, so at most `maxInFlight` batches wait. Throws if the thread fails; the consumer can go
 * on in-thread from the last entry it got. Leaving early stops the thread. However it ends, the
 * generator settles only once the thread has exited (bounded, END_WAIT_MS twice): Service.close()
 * resolved with it still reading the data file, after the store had closed and the data dir's
 * lock was let go (test/recovery/close-during-replay.test.ts).
 */
export async function* replayBatches(options: ReplayBatchesOptions): AsyncGenerator<ReplayBatch> {
  const hangTimeoutMs = options.hangTimeoutMs ?? 0;
  const startTimeoutMs = options.startTimeoutMs ?? 0;
  let hung = false;
  // From its creation: one stuck loading its modules never beats, and held start-up in
  // "replaying" for good with /healthz 200.
  const watch = new PulseWatch({ hangMs: hangTimeoutMs, startMs: startTimeoutMs }, (stillMs, stage) => {
    hung = true;
    // Stuck in synchronous code, the thread never reads 'stop': it is ended from here.
    endOnceLoaded(worker, watch);
    const seconds = Math.round(stillMs / 1000);
    arrive({
      type: 'error',
      message:
        stage === 'loading'
          ? `replay thread gave no sign of life for ${seconds} s after it was created, loading its modules (--thread-start-timeout ${startTimeoutMs / 1000} s): ended`
          : `replay thread made no progress for ${seconds} s (--thread-hang-timeout ${hangTimeoutMs / 1000} s): ended`,
    });
  });
  const data: ReplayWorkerData = {
    dir: options.dir,
    after: options.after,
    // Only the bounds: the caller's object may carry more (functions do not cross threads).
    shape: options.shape && { maxDepth: options.shape.maxDepth, maxKeys: options.shape.maxKeys },
    maxFanout: options.maxFanout,
    batch: options.batch ?? 1024,
    maxInFlight: options.maxInFlight ?? 4,
    pulse: watch.buffer,
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { workerData: data });
    // One ended hung, stuck in a native call, lives on, and would hold any later exit.
    trackThread(worker, 'the replay thread', loadedOf(worker));
  } catch (err) {
    throw new ReplayThreadError(`cannot start: ${(err as Error)?.message ?? String(err)}`);
  }
  /** What the consumer is handed; 'loaded' is process-exit.ts's. */
  type Said = Exclude<FromReplayThread, { type: 'loaded' }>;
  const queue: Said[] = [];
  let wake: (() => void) | null = null;
  const arrive = (message: Said) => {
    queue.push(message);
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on('message', (message: FromReplayThread) => message.type === 'loaded' || arrive(message));
  worker.on('error', (err) => arrive({ type: 'error', message: err.message }));
  // After any message it sent: an exit before 'end' is a failure.
  worker.on('exit', (code) => arrive({ type: 'error', message: `replay thread exited (code ${code})` }));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const { signal } = options;
  const onAbort = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const send = (message: ToReplayThread) => worker.postMessage(message);
  watch.start();
  let finished = false;
  try {
    for (;;) {
      while (queue.length === 0 && !signal?.aborted) await new Promise<void>((r) => (wake = r));
      if (signal?.aborted) return;
      const message = queue.shift() as Said;
      if (message.type === 'end') {
        finished = true;
        return;
      }
      if (message.type === 'error') {
        finished = true;
        throw new ReplayThreadError(message.message, hung);
      }
      yield unpackBatch(message, options.shape);
      send({ type: 'ack' });
    }
  } finally {
    watch.stop();
    signal?.removeEventListener('abort', onAbort);
    // Left early (an abort, or the consumer failed): the thread stops at its next record.
    if (!finished) send({ type: 'stop' });
    await ended(worker, exited, hung, watch);
  }
}

/**
 * Settles once the thread has exited: told to stop (or done), it closes its store and exits
 * within a record; one that has not by END_WAIT_MS is ended (one found hung was already), and
 * one stuck in a native call, which terminate() cannot interrupt, is let go (unref'd) after as
 * long again (the process's exit still bounds its wait for it: process-exit.ts). Held (ref'd)
 * while waited for: unref'd from the start, with the waits' timers unref'd too, a process
 * holding nothing else (a tool or embedder calling recover() without listening) emptied its
 * event loop while the thread closed its store, and ended with exit 13, recover() unsettled.
 */
async function ended(worker: Worker, exited: Promise<void>, terminated: boolean, watch: PulseWatch): Promise<void> {
  if (!terminated && (await settledWithin(exited, END_WAIT_MS))) return;
  endOnceLoaded(worker, watch);
  if (!(await settledWithin(exited, END_WAIT_MS))) worker.unref();
}

/**
 * Ends the thread once it may be (process-exit.ts terminateWhenEndable): terminate() while lmdb's addon
 * loads in it aborts the process, and with a short --thread-start-timeout on a loaded machine
 * the load outlasts the bound (as the bus thread's did: bus-thread.ts endOnceLoaded). Given up
 * meanwhile (Pulse.begin): should it get going, it opens nothing.
 */
function endOnceLoaded(worker: Worker, watch: PulseWatch): void {
  watch.giveUp();
  terminateWhenEndable(worker);
}

function unpackBatch(
  message: Extract<FromReplayThread, { type: 'batch' }>,
  shape: ShapeBounds | undefined,
): ReplayBatch {
  const { buffer } = message;
  const entries: JournalEntry[] = [];
  let truncated = 0;
  let start = 0;
  for (const item of message.items) {
    const { id, meta, envelope } = unpackPrepared(buffer, start, item.end, item.headEnd);
    start = item.headEnd;
    if (item.t) truncated++;
    entries.push(
      item.w && shape !== undefined
        ? { seq: item.seq, id, envelope, meta, withinShape: shape }
        : { seq: item.seq, id, envelope, meta },
    );
  }
  return { entries, truncated, corrupt: message.corrupt };
}
