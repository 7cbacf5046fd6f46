/**
 * The AMQP prepare thread (started by amqp-prepare-thread.ts): prepares each large delivery the
 * main thread hands over (amqp-prepare.ts) and hands back its record and head in one
 * transferred buffer, in the order received: one answer message per message of jobs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fromWireDelivery, prepareDelivery } from './amqp-prepare.js';
import type {
  FromPrepareThread,
  PrepareAnswer,
  PrepareJob,
  PrepareWorkerData,
  ToPrepareThread,
} from './amqp-prepare-protocol.js';
import { Pulse } from './thread-pulse.js';

const port = parentPort;
if (!port) throw new Error('amqp-prepare-worker.js runs as a worker thread (src/amqp-prepare-thread.ts starts it)');
const data = workerData as PrepareWorkerData;
/** The service's clock as its main thread reads it (service-parts.ts nowSeconds: systemClock.now() / 1000). */
const fill = data.fillTimestamps ? () => Date.now() / 1000 : null;
/** Tests only: a routing key on which this thread spins for good, as a thread stuck in a native call would. */
const spinKey = process.env['STATSCACHE_TEST_AMQP_THREAD_SPIN_KEY'];
/** Tests only: a routing key on which this thread exits, as a thread that crashed would. */
const exitKey = process.env['STATSCACHE_TEST_AMQP_THREAD_EXIT_KEY'];
const pulse = new Pulse(data.pulse);
pulse.keepBeating();

/** One job's answer; buffers it hands back are added to `transfer`. */
function answerTo({ job, delivery }: PrepareJob, transfer: ArrayBuffer[]): PrepareAnswer {
  pulse.beat();
  if (delivery.routingKey === exitKey) process.exit(3);
  while (delivery.routingKey === spinKey) {}
  try {
    const prepared = prepareDelivery(fromWireDelivery(delivery), data.limits, fill);
    if (prepared.kind !== 'ready') return { job, ...prepared };
    const { record, head } = prepared;
    const packed = new Uint8Array(record.byteLength + head.byteLength);
    packed.set(record, 0);
    packed.set(head, record.byteLength);
    transfer.push(packed.buffer);
    return {
      job,
      kind: 'ready',
      buffer: packed.buffer,
      recordEnd: record.byteLength,
      truncated: prepared.truncated,
      corrected: prepared.corrected,
      filled: prepared.filled,
    };
  } catch (err) {
    // The main thread prepares it itself: the same failure there is counted and reported as the inline path does.
    return { job, kind: 'failed', message: String((err as Error)?.message ?? err) };
  }
}

port.on('message', ({ jobs }: ToPrepareThread) => {
  const transfer: ArrayBuffer[] = [];
  const answers = jobs.map((job) => answerTo(job, transfer));
  port.postMessage({ kind: 'answers', answers } satisfies FromPrepareThread, transfer);
});
port.postMessage({ kind: 'up' } satisfies FromPrepareThread);
