/**
 * The replay thread: reads the journal after a seq and does, per record, what needs no plugin
 * state (checksum, decode, shape bounds from the bytes, meta), so start-up replay pipelines on
 * two cores as live ingest does (bus-worker.ts): this thread prepares batch n+1 while the main
 * thread applies batch n. Each batch is one transferred buffer of record and head pairs, as the
 * bus thread sends them; at most `maxInFlight` batches are unacknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readEntry } from '../snapshots/journal-read.js';
import { DataStore } from '../snapshots/lmdb-store.js';
import { deriveMeta } from './meta/index.js';
import { encodeHead, headOf } from './prepared-head.js';
import { Pulse } from './thread-pulse.js';
import { PairBatch } from './transfer-buffer.js';
import type { FromReplayThread, ReplayItem, ReplayWorkerData, ToReplayThread } from './replay-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('replay-worker.js runs as a worker thread (src/replay-thread.ts starts it)');
const data = workerData as ReplayWorkerData;
const post = (message: FromReplayThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
// Ended while lmdb's addon loads in it, the thread aborts the whole process: the main thread
// ends it only after this (replay-thread.ts).
post({ type: 'loaded' });
/**
 * Tests only: spin for good before the first beat, as a thread stuck in its modules' top-level
 * code would (--thread-start-timeout's test, test/recovery/replay-thread-hang.test.ts).
 */
while (process.env['STATSCACHE_TEST_REPLAY_THREAD_LOAD_SPIN'] === '1') {}
const pulse = new Pulse(data.pulse);
// Given up by the main thread before this (stalled or left while it loaded): it opens nothing.
if (!pulse.begin()) process.exit(0);
pulse.keepBeating();
/**
 * Tests only: the seq at which this thread spins for good, as a thread stuck in a native call
 * would (--thread-hang-timeout's test, test/recovery/replay-thread-hang.test.ts).
 */
const spinAt = Number(process.env['STATSCACHE_TEST_REPLAY_THREAD_SPIN_AT'] ?? Number.NaN);

let inFlight = 0;
let stopped = false;
let credit: (() => void) | null = null;

port.on('message', (message: ToReplayThread) => {
  if (message.type === 'ack') inFlight--;
  else stopped = true;
  const resume = credit;
  credit = null;
  resume?.();
});

let items: ReplayItem[] = [];
const pairs = new PairBatch();
let corrupt = 0;
let truncated = false;
const onTruncated = () => {
  truncated = true;
};

function flush(): void {
  if (items.length === 0 && corrupt === 0) return;
  const buffer = pairs.take();
  post({ type: 'batch', items, buffer, corrupt }, [buffer]);
  inFlight++;
  items = [];
  corrupt = 0;
}

/** One stored record: its bytes are LMDB's shared read buffer, reused for the next one. */
function read(seq: number, stored: Uint8Array, size: number): void {
  if (seq === spinAt) while (Number.isFinite(spinAt)) {}
  pulse.beat();
  const entry = readEntry(seq, stored, size, data.shape);
  if (entry === null) {
    corrupt++;
    return;
  }
  truncated = false;
  const meta = deriveMeta(entry.envelope, { maxFanout: data.maxFanout, onTruncated });
  const head = encodeHead(headOf(entry.id, meta, entry.envelope));
  // A view of the buffer LMDB reuses: add() copies it into the batch before the next record is read.
  const end = pairs.add(new Uint8Array(stored.buffer, stored.byteOffset, size), head);
  items.push({ seq, end, headEnd: pairs.size, t: truncated, w: entry.withinShape !== undefined });
}

try {
  const store = new DataStore(data.dir, { readOnly: true });
  let after = data.after;
  let more = true;
  while (more && !stopped) {
    more = false;
    // A fresh range per credit wait: no read transaction is held open while the main thread works.
    for (const seq of store.journalAfter(after, (s, stored, size) => {
      read(s, stored, size);
      return s;
    })) {
      after = seq;
      if (stopped) break;
      if (items.length < data.batch) continue;
      flush();
      if (inFlight >= data.maxInFlight) {
        more = true;
        break;
      }
    }
    if (more) await new Promise<void>((r) => (credit = r));
  }
  if (!stopped) {
    flush();
    post({ type: 'end' });
  }
  await store.close();
} catch (err) {
  post({ type: 'error', message: String((err as Error)?.message ?? err) });
}
port.close();
