/**
 * What encodeChecked's callers spend per value, in process, one thread, no I/O (issue 11):
 *   records  the fixture samples' journal records (encodeJournalRecord: Journal.accept on the main
 *            thread when the bus thread is off, snapshot import's recordsFor)
 *   amqp     the fixture samples as Fedora's AMQP bus delivers them (body = the message's `msg`,
 *            routing key = its topic, a `sent-at` header) through the AMQP input thread's
 *            ThreadOutbox: decode, id, record and head, the turn's batch packed and posted
 *   values   a snapshot's changed values (snapshotter.ts), the per-user bench plugin's: a row
 *            `{ timestamp, user, n }` and a count for each user
 * Prints CPU µs per value of this thread. For a figure that load does not move, count
 * instructions with callgrind at two counts and divide the difference by the difference in counts:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 dist/bench/encode-checked.js records 2000
 *   ENCODE_DIST=/other/worktree/dist   the build measured (an A/B run)
 */
import { readFileSync } from 'node:fs';
import { fixtureSamples } from './fedmsg-wire.js';

const MODE = process.argv[2] ?? 'records';
const N = Number(process.argv[3] ?? 20_000);
const WARMUP = Number(process.argv[4] ?? 2_000);
const dist = process.env['ENCODE_DIST'] ?? new URL('../', import.meta.url).pathname;

const { encodeJournalRecord } = (await import(
  `${dist}/snapshots/journal-record.js`
)) as typeof import('../snapshots/journal-record.js');
const { encodeChecked } = (await import(`${dist}/snapshots/codec.js`)) as typeof import('../snapshots/codec.js');
const { ThreadOutbox } = (await import(
  `${dist}/src/amqp-thread-outbox.js`
)) as typeof import('../src/amqp-thread-outbox.js');
const { threadLimits } = (await import(`${dist}/src/bus-prepare.js`)) as typeof import('../src/bus-prepare.js');
const { loadConfig } = (await import(`${dist}/src/config.js`)) as typeof import('../src/config.js');
type Envelope = import('../src/envelope.js').Envelope;
type Delivery = import('../src/amqp-message.js').Delivery;

const samples = fixtureSamples();
const now = Math.floor(Date.now() / 1000);
const POOL = samples.length * 4;
let sink = 0;

/** The work for value i of the run; `turn` ends a batch of values (the AMQP thread's event-loop turn). */
function workload(): { one: (i: number) => void; turn?: () => Promise<void> } {
  if (MODE === 'records') {
    const records = Array.from({ length: POOL }, (_, i) => {
      const s = samples[i % samples.length] as (typeof samples)[number];
      const envelope = { ...s, msg_id: `bench-${now}-${i}`, timestamp: now - 3600 + i / 10 } as unknown as Envelope;
      return { id: `bench-${now}-${i}#0123456789abcdef`, envelope };
    });
    return {
      one: (i) => {
        const r = records[i % POOL] as (typeof records)[number];
        sink += encodeJournalRecord(r.id, r.envelope).byteLength;
      },
    };
  }
  if (MODE === 'values') {
    const values = Array.from({ length: POOL }, (_, i) =>
      i % 2 === 0 ? { timestamp: now - (i % 3600), user: `user-${i}`, n: 1 + (i % 300) } : 1 + (i % 70_000),
    );
    return {
      one: (i) => {
        sink += encodeChecked(values[i % POOL]).byteLength;
      },
    };
  }
  if (MODE === 'amqp') {
    const sentAt = new Date((now - 60) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const deliveries: Delivery[] = Array.from({ length: POOL }, (_, i) => {
      const s = samples[i % samples.length] as (typeof samples)[number];
      return {
        routingKey: s.topic,
        content: Buffer.from(JSON.stringify(s['msg'] ?? {})),
        messageId: `bench-${now}-${i}`,
        headers: { 'sent-at': sentAt, fedora_messaging_schema: 'base.message', priority: 0 },
        redelivered: false,
      };
    });
    const limits = threadLimits(loadConfig({ env: {}, flags: { port: 0 } }));
    const outbox = new ThreadOutbox(limits, (items, buffer) => {
      sink += items.count + (buffer?.byteLength ?? 0);
    });
    return {
      one: (i) => outbox.add(0, i, 0, deliveries[i % POOL] as Delivery),
      // The batch is posted in a microtask, as after a socket read's deliveries.
      turn: () => Promise.resolve(),
    };
  }
  throw new Error(`mode ${MODE}: records, amqp or values`);
}

const { one, turn } = workload();
/** Values per batch: the AMQP input thread's deliveries of one socket read. */
const BATCH = 16;

async function run(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    one(i);
    if (turn !== undefined && (i + 1) % BATCH === 0) await turn();
  }
  if (turn !== undefined) await turn();
}

function cpuUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

await run(0, WARMUP);
const t0 = cpuUs();
await run(WARMUP, WARMUP + N);
const us = cpuUs() - t0;
console.log(JSON.stringify({ mode: MODE, values: N, cpu_us_per_value: Math.round((us / N) * 100) / 100, sink }));
