/**
 * The bus thread's hand-over alone, as the main thread pays it: a real publisher process
 * (bench/load/publisher.py) → the real bus thread (subscribeThreaded) → a batch handler that
 * reads what the intake reads of each message (id, meta, topic, timestamp, record) and nothing
 * more. Reported: the main thread's CPU time per message (/proc task schedstat), with the batch
 * size seen. Wall-clock rates mean nothing
 * on a shared host; CPU per message does.
 *
 *   node dist/bench/handover.js [paced|flood] [messages] [rate]
 *   HANDOVER_DIST=/other/worktree/dist   the build whose bus thread is measured (an A/B run)
 */
import { readFileSync } from 'node:fs';
import type { ThreadMessage } from '../src/bus-thread.js';
import { child, freePort, PUBLISHER, PYTHON, SAMPLES } from './load/lib.js';

const mode = process.argv[2] === 'flood' ? 'flood' : 'paced';
const N = Number(process.argv[3] ?? (mode === 'flood' ? 60_000 : 6_000));
const RATE = Number(process.argv[4] ?? (mode === 'flood' ? 0 : 1000));
const dist = process.env['HANDOVER_DIST'] ?? new URL('../', import.meta.url).pathname;

// As serve does: msgpackr's native string extraction off.
await import(`${dist}/src/msgpack-strings.js`);
const { subscribeThreaded } = (await import(`${dist}/src/bus-thread.js`)) as typeof import('../src/bus-thread.js');
const { threadLimits } = (await import(`${dist}/src/bus-prepare.js`)) as typeof import('../src/bus-prepare.js');
const { loadConfig } = (await import(`${dist}/src/config.js`)) as typeof import('../src/config.js');

const config = loadConfig({ env: {}, flags: { port: 0 } });
const port = await freePort();
const endpoint = `tcp://127.0.0.1:${port}`;
const publisher = child(PYTHON, [PUBLISHER, endpoint, String(N), String(RATE), 'ingest', SAMPLES]);
await publisher.line();

/** The main thread's time on a CPU, ns (schedstat: exact, where stat counts 10 ms ticks). */
function threadNs(): number {
  return Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

let received = 0;
let batches = 0;
let sink = 0;
let done: () => void = () => undefined;
const all = new Promise<void>((r) => (done = r));
const sub = await subscribeThreaded(
  { connect: [endpoint], bind: [], topics: [''] },
  {
    limits: threadLimits(config),
    lingerMs: config.busLinger,
    tickMs: config.wsTickMs,
    // Saturated, the service's batches held ~118 messages (its main thread busy applying); this
    // one's main thread idles, so the bound stands in for that.
    ...(mode === 'flood' ? { maxBatch: 128 } : {}),
  },
  {
    onBatch: (messages: readonly ThreadMessage[]) => {
      batches++;
      for (const m of messages) {
        if (m.kind === 'ready') {
          sink +=
            m.id.length +
            m.meta.category.length +
            m.meta.usernames.length +
            m.envelope.topic.length +
            m.record.byteLength;
          sink += typeof m.envelope.timestamp === 'number' ? 1 : 0;
        }
        received++;
      }
      if (received >= N) done();
    },
    onReceiveError: (err: unknown) => console.error('receive error', err),
    onLoopEnd: (err: unknown) => {
      if (err !== null) console.error('loop end', err);
    },
    onEndpoint: () => undefined,
  } as unknown as Parameters<typeof subscribeThreaded>[2],
);
// Give the subscription time to connect (a slow joiner loses the first messages otherwise).
await new Promise((r) => setTimeout(r, 500));
await new Promise((r) => setTimeout(r, 200));
const t0 = threadNs();
const c0 = process.cpuUsage();
publisher.send('go\n');
await all;
const ns = threadNs() - t0;
const c1 = process.cpuUsage(c0);
sub.close();
await sub.done;
await publisher.stop();
console.log(
  JSON.stringify({
    build: dist,
    mode,
    messages: received,
    per_batch: Math.round((received / batches) * 10) / 10,
    main_cpu_us_per_msg: Math.round(ns / received / 10) / 100,
    // Every thread of this process: the bus thread's receive and preparing too, and V8's.
    all_threads_cpu_us_per_msg: Math.round(((c1.user + c1.system) / received) * 100) / 100,
    sink: sink > 0,
  }),
);
process.exit(0);
