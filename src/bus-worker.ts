/**
 * The bus thread: receives ZeroMQ frames and does the per-message work that needs no plugin
 * state (JSON parse, bounds, timestamp units, de-duplication id, journal record encoding),
 * so the two cores pipeline: this thread prepares message n+1 while the main thread journals
 * and applies message n. Batches go to the main thread in one transferred buffer; the main
 * thread acknowledges each (shared totals: bus-credit.ts), and at most `maxInFlight` messages and `maxInFlightBytes` bytes are
 * unacknowledged (beyond that this thread stops receiving and libzmq queues, as the
 * single-thread bus does).
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { type BusOptions, openSockets } from './bus.js';
import { SharedCredit } from './bus-credit.js';
import { BatchLinger } from './bus-linger.js';
import { prepareFrameParts, type ThreadLimits, unclocked } from './bus-prepare.js';
import {
  type BusThreadStart,
  type FromBusThread,
  ITEM_OVERHEAD_BYTES,
  ItemBatch,
  type ToBusThread,
} from './bus-thread-protocol.js';
import { Pulse } from './thread-pulse.js';
import { PairBatch } from './transfer-buffer.js';

interface BusWorkerData {
  readonly options: BusOptions;
  readonly limits: ThreadLimits;
  readonly maxInFlight: number;
  /** Bytes likewise (ITEM_OVERHEAD_BYTES each, plus what it carries); Infinity without --bus-queue-max-bytes. */
  readonly maxInFlightBytes: number;
  readonly maxBatch: number;
  readonly lingerMs: number;
  /** The main thread's push tick (ms, on wall-clock multiples): batches go before it (bus-linger.ts). */
  readonly tickMs: number;
  /**
   * Read on through a batch's linger instead of waiting it out on the socket: libzmq's queue is
   * cut short by --bus-queue-max-bytes, and while the loop slept a burst would find it full and
   * the publisher dropping (17,004 of 20,000 small messages lost at a queue of one).
   */
  readonly readThrough: boolean;
  /** The service runs on the system clock: a message without a timestamp is stamped here (bus-thread-options.ts). */
  readonly fillTimestamps: boolean;
  /** The thread's Pulse (thread-pulse.ts): beats per message and while it waits. */
  readonly pulse: SharedArrayBuffer;
  /** What the main thread has taken in (bus-credit.ts). */
  readonly credit: SharedArrayBuffer;
  /** Set to 1 with 'released': a bare process.exit() waits on it (process-exit.ts closeAtExit). */
  readonly released: SharedArrayBuffer;
}

const port = parentPort;
if (!port) throw new Error('bus-worker.js runs as a worker thread (src/bus-thread.ts starts it)');
/**
 * Tests only: a thread created ahead (prestartBusThread) that dies before the service takes it:
 * 'load' throws as it loads; 'taken' ends as its start comes, unread, so its end reaches the
 * main thread only after the subscribe took it, as when it died just before
 * (test/e2e/early-bus-thread.test.ts).
 */
const aheadDeath = workerData === null ? process.env['STATSCACHE_TEST_BUS_THREAD_AHEAD_DEATH'] : undefined;
if (aheadDeath === 'load') throw new Error('the bus thread created ahead failed loading (test hook)');
// Ended while zeromq's addon was loading, a thread aborted the whole process ("terminate called
// after throwing an instance of 'Napi::Error'"): the exit of a start refused at once (exit 2)
// became SIGABRT. Loaded now (static imports run first): the main thread ends it only after this.
port.postMessage({ type: 'loaded' } satisfies FromBusThread);
/**
 * Tests only: spin for good before the first beat, as a thread stuck in its modules' top-level
 * code would; one created ahead spins before it is taken: --thread-start-timeout's test,
 * test/recovery/bus-thread-start-hang.test.ts. After 'loaded': a thread stuck in JavaScript is
 * ended (terminate() interrupts it), one still loading an addon is not (bus-thread.ts
 * endOnceLoaded); test/recovery/bus-thread-load-abort.test.ts holds one there.
 */
while (process.env['STATSCACHE_TEST_BUS_THREAD_LOAD_SPIN'] === '1') {}
/**
 * Created ahead of its use (prestartBusThread: its modules load while the main thread loads the
 * service's), the thread is told its data by the service's subscribe, in its first message.
 */
const data = (workerData ?? (await new Promise<BusThreadStart>((r) => port.once('message', r))).data) as BusWorkerData;
if (aheadDeath === 'taken') process.exit(3);
const limits = unclocked(data.limits);
/** The service's clock as its main thread reads it (service-parts.ts nowSeconds: systemClock.now() / 1000). */
const fill = data.fillTimestamps ? () => Date.now() / 1000 : null;
const post = (message: FromBusThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
const pulse = new Pulse(data.pulse);
// Given up by the main thread before this (a stop while it loaded): it opens nothing.
if (!pulse.begin()) process.exit(0);
pulse.keepBeating();
/**
 * Tests only: a topic on which this thread spins for good, as a thread stuck in a native call
 * would (--thread-hang-timeout's test, test/recovery/bus-thread-hang.test.ts).
 */
const spinTopic = process.env['STATSCACHE_TEST_BUS_THREAD_SPIN_TOPIC'];
/**
 * Tests only: a FIFO that nothing writes, opened on that topic (or while opening the sockets,
 * with STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN) before spinning: the thread
 * blocks in open(2), a native call that worker.terminate() cannot interrupt
 * (test/recovery/bus-thread-native-hang.test.ts).
 */
const blockFifo = process.env['STATSCACHE_TEST_BUS_THREAD_BLOCK_FIFO'];
/**
 * Tests only: a FIFO the thread blocks on (open(2)) as the close comes, its sockets closed and
 * their monitors reading: a thread starved past the main thread's CLOSE_WAIT_MS
 * (test/recovery/bus-thread-starved-stop.test.ts).
 */
const closeFifo = process.env['STATSCACHE_TEST_BUS_THREAD_CLOSE_FIFO'];
/** Tests only: spin for good while opening the sockets (test/recovery/bus-thread-start-hang.test.ts). */
const openSpin = process.env['STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN'] === '1';

const items = new ItemBatch();
const pairs = new PairBatch();
/** The open batch's linger (bus-linger.ts): once it is over, the batch goes. */
const linger = new BatchLinger(data.lingerMs, data.tickMs, () => flush());
const credit = new SharedCredit(data.credit);
/** Messages and bytes handed over so far; less what the main thread has taken in, what is in flight. */
let sent = 0;
let sentBytes = 0;
/** Bytes gathered into the open batch. */
let batchBytes = 0;
let resume: (() => void) | null = null;

/** Room for more: under both the message and the byte bound, counting the open batch. */
function hasCredit(): boolean {
  return (
    sent - credit.messages() + items.count < data.maxInFlight &&
    sentBytes - credit.bytes() + batchBytes < data.maxInFlightBytes
  );
}

/**
 * Waiting for credit: asks the main thread for a `wake`, then looks again, as a batch taken in
 * just before the ask found no one to wake; resumes the receive loop once there is room.
 */
function awaitCredit(): void {
  if (resume === null) return;
  credit.wantWake();
  if (!hasCredit()) return;
  credit.noWake();
  const r = resume;
  resume = null;
  r();
}

function flush(): void {
  linger.end();
  if (items.count === 0) return;
  // Two buffers per batch, transferred: no copy across threads.
  const buffer = pairs.take();
  const packed = items.take();
  const bytes = batchBytes;
  batchBytes = 0;
  sent += packed.count;
  sentBytes += bytes;
  post({ type: 'batch', ...packed, buffer, bytes }, [buffer, packed.items]);
}

function onFrames(frames: readonly Uint8Array[], source: string): void | Promise<void> {
  pulse.beat();
  linger.arrived();
  if (spinTopic !== undefined && frames[0] !== undefined && Buffer.from(frames[0]).toString() === spinTopic) {
    if (blockFifo !== undefined) readFileSync(blockFifo);
    while (spinTopic !== undefined) {}
  }
  const prepared = prepareFrameParts(frames, limits, fill);
  switch (prepared.kind) {
    case 'ready': {
      const start = pairs.size;
      const end = pairs.addMessage(prepared.id, prepared.envelope, prepared.head);
      items.ready(source, end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
      batchBytes += ITEM_OVERHEAD_BYTES + pairs.size - start;
      break;
    }
    case 'clock':
      items.other(source, { k: 'clock', f: prepared.frames });
      batchBytes += ITEM_OVERHEAD_BYTES;
      for (const f of prepared.frames) batchBytes += f.byteLength;
      break;
    case 'rejected':
      items.other(source, { k: 'rejected', r: prepared.reason, d: prepared.detail });
      batchBytes += ITEM_OVERHEAD_BYTES + prepared.detail.length;
      break;
  }
  // Counted before it can wait for credit: a thread seen waiting is seen with it (bus-credit.ts flow).
  credit.read(prepared.kind === 'rejected');
  // libzmq hands over queued messages without leaving the microtask queue: flush by size too.
  // Otherwise the first message of a batch waits up to lingerMs for company: every batch costs
  // a hand-over, an ack and a journal commit, which a trickle would pay once per message.
  if (items.count >= data.maxBatch) flush();
  else if (!linger.isOpen) linger.start();
  if (hasCredit()) return;
  flush();
  return new Promise((r) => {
    resume = r;
    awaitCredit();
  });
}

if (openSpin && blockFifo !== undefined) readFileSync(blockFifo);
while (openSpin) {}
const sockets = await openSockets(data.options, {
  onFrames,
  onMonitor: (source, event) => post({ type: 'monitor', source, event }),
  endsThread: true,
  ...(data.readThrough ? {} : { idleWait: () => linger.idleWait(items.count) }),
  onReceiveError: (err, source) =>
    post({ type: 'receive-error', source, message: String((err as Error)?.message ?? err) }),
  onLoopEnd: (err, source) =>
    post({ type: 'loop-end', source, message: err === null ? null : String((err as Error)?.message ?? err) }),
}).catch((err: unknown) => {
  post({ type: 'open-failed', message: String((err as Error)?.message ?? err), code: (err as { code?: string }).code });
  return null;
});

if (sockets) {
  port.on('message', (message: ToBusThread) => {
    if (message.type === 'wake') {
      // Possibly stale (credit came before the ask was seen): awaitCredit looks again.
      awaitCredit();
    } else if (message.type === 'close') {
      sockets.close();
      if (closeFifo !== undefined) readFileSync(closeFifo);
      // After close(): the loops it releases see that they are closing. The open batch goes
      // over, credit or not: it was received, and the main thread handles what it is handed
      // until the thread exits.
      flush();
      // A receive loop waiting for credit would keep the thread alive after close.
      resume?.();
      // The thread's exit is what the main thread's close() waits for: not before libzmq has
      // closed the bound ports (bus-release.ts), which it does on its own thread, after close().
      void sockets.done.then(() => {
        const released = new Int32Array(data.released);
        Atomics.store(released, 0, 1);
        Atomics.notify(released, 0);
        post({ type: 'released' });
        port.close();
      });
    }
  });
  post({ type: 'ready', bound: [...sockets.bound] });
} else {
  port.close();
}
