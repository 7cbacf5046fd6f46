/**
 * The bus thread's per-message work alone, in process, with no sockets and no other thread: the
 * fixture samples as the ingest bench's publisher sends them (bench/load/publisher.py: compact
 * JSON, sorted keys, ASCII-escaped, a unique msg_id, a fractional timestamp) through
 * prepareFrameParts, then into a batch as bus-worker.ts gathers one (PairBatch, ItemBatch, a batch
 * taken every 512 messages). Prints CPU µs per message of this thread. For a figure that load
 * does not move, count instructions with callgrind at two message counts and divide the
 * difference by the difference in messages (start-up and warm-up cancel out):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --hash-seed=1 --random-seed=1 \
 *     --max-inlined-bytecode-size-cumulative=230 dist/bench/bus-prepare-cost.js 2000
 *
 * The inlining flag is the service's own budget (src/v8-inlining.ts sets it in serve, not here):
 * without it V8's default (920) inlines more than the service does and the counts differ.
 *   PREPARE_DIST=/other/worktree/dist   the build measured (an A/B run)
 *   BENCH_SIGNED=1                      every sample signed, as production fedmsg signs them
 *   BENCH_DIGEST=1                      also print a SHA-1 of every batch taken and of the last,
 *                                       partial one (what the bus thread would hand over), with
 *                                       the clock fixed (BENCH_NOW, epoch seconds; default
 *                                       1_700_000_000): two builds that prepare the same bytes
 *                                       print the same digest. Not for counting (it hashes each batch).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { busBatchModules } from './bus-batch-modules.js';
import { fixtureSamples, wire } from './fedmsg-wire.js';

const N = Number(process.argv[2] ?? 20_000);
const WARMUP = Number(process.argv[3] ?? 2_000);
const dist = process.env['PREPARE_DIST'] ?? new URL('../', import.meta.url).pathname;

const { prepareFrames, prepareFrameParts, threadLimits, unclocked, PairBatch, ItemBatch, loadConfig } =
  await busBatchModules(dist);

const samples = fixtureSamples(process.env['BENCH_SIGNED'] === '1');
const digest = process.env['BENCH_DIGEST'] === '1' ? createHash('sha1') : null;
const now = digest === null ? Math.floor(Date.now() / 1000) : Number(process.env['BENCH_NOW'] ?? 1_700_000_000);
const total = WARMUP + N;
/**
 * Ten rounds of the samples, each message its own msg_id, cycled: building them is not what is
 * measured. Always ten rounds, whatever the message count: a pool of min(total, ten rounds) was
 * 3 000 frames at 3 k and 5 100 at 15 k, so the marginal count per message (15 k − 3 k) also
 * held building 2 100 frames, ~17 k instructions a message.
 */
const POOL = samples.length * 10;
const frames = Array.from({ length: POOL }, (_, i) => {
  const s = samples[i % samples.length] as (typeof samples)[number];
  const e = {
    ...s,
    timestamp: Math.round((now - 3600 + (i * 3600) / POOL) * 1000) / 1000,
    msg_id: `bench-${now}-${i}`,
  };
  return [Buffer.from(s.topic), Buffer.from(wire(e))] as const;
});

const config = loadConfig({ env: {}, flags: { port: 0 } });
const limits = unclocked(threadLimits(config));
const fill = digest === null ? () => Date.now() / 1000 : () => now;
const items = new ItemBatch();
const pairs = new PairBatch();
let sink = 0;

function run(from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const f = frames[i % POOL] as readonly Uint8Array[];
    // As bus-worker.ts does in the build measured: a base build has no prepareFrameParts.
    if (prepareFrameParts !== undefined) {
      const prepared = prepareFrameParts(f, limits, fill);
      if (prepared.kind === 'ready') {
        const end = pairs.addMessage(prepared.id, prepared.envelope, prepared.head);
        items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
      } else sink++;
    } else {
      const prepared = prepareFrames(f, limits, fill);
      if (prepared.kind === 'ready') {
        const end = pairs.add(prepared.record, prepared.head);
        items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
      } else sink++;
    }
    if (items.count >= 512) take();
  }
}

/** A batch as the bus thread sends it: its buffer and its items (what each message's bytes are). */
function take(): void {
  const size = pairs.size;
  const buffer = pairs.take();
  const batch = items.take();
  if (digest !== null) {
    digest.update(new Uint8Array(buffer, 0, size));
    digest.update(new Uint8Array(batch.items));
    digest.update(JSON.stringify([batch.count, batch.sources, batch.others]));
  }
}

function cpuUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

run(0, WARMUP);
const c0 = cpuUs();
run(WARMUP, total);
const cpu = cpuUs() - c0;
if (digest !== null && items.count > 0) take();
console.log(
  JSON.stringify({
    messages: N,
    cpu_us_per_msg: +(cpu / N).toFixed(2),
    not_ready: sink,
    ...(digest === null ? {} : { digest: digest.digest('hex') }),
  }),
);
