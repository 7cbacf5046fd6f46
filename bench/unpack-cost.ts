/**
 * The main thread's hand-over alone, in process: the fixture samples as the ingest bench's
 * publisher sends them (sorted keys, a unique msg_id: bench/bus-prepare-cost.ts) prepared once
 * into bus-thread batches of 128 (PairBatch, ItemBatch), then unpacked again and again as the
 * main thread unpacks them (unpackBatch → unpackPrepared → withBodyFrom), each message read as
 * the intake reads it (id, meta's category, topic, timestamp, record). Count instructions with
 * callgrind at two pass counts and divide the difference by the records between (the preparing
 * and start-up cancel out):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 dist/bench/unpack-cost.js 40
 *   UNPACK_DIST=/other/worktree/dist   the build measured (an A/B run)
 *   BENCH_SIGNED=1                     every sample signed, as production fedmsg signs them
 *   BENCH_BODY=1                       each body read too (its lazy decode)
 *   BENCH_FIELDS=1                     the fields plugins and the gap detector read too, seq_id (absent) among them
 */
import { busBatchModules } from './bus-batch-modules.js';
import { fixtureSamples, wire } from './fedmsg-wire.js';

const PASSES = Number(process.argv[2] ?? 200);
const dist = process.env['UNPACK_DIST'] ?? new URL('../', import.meta.url).pathname;
const readBody = process.env['BENCH_BODY'] === '1';
const readFields = process.env['BENCH_FIELDS'] === '1';

const { prepareFrames, threadLimits, unclocked, PairBatch, ItemBatch, loadConfig } = await busBatchModules(dist);
const { unpackBatch } = (await import(
  `${dist}/src/bus-thread-batch.js`
)) as typeof import('../src/bus-thread-batch.js');

const samples = fixtureSamples(process.env['BENCH_SIGNED'] === '1');
const now = Math.floor(Date.now() / 1000);
const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
const fill = () => Date.now() / 1000;

type Batch = { items: ReturnType<InstanceType<typeof ItemBatch>['take']>; buffer: ArrayBuffer };
const batches: Batch[] = [];
const items = new ItemBatch();
const pairs = new PairBatch();
let records = 0;
const cut = () => {
  const buffer = pairs.take();
  batches.push({ items: items.take(), buffer });
};
for (const [i, s] of samples.entries()) {
  const e = { ...s, timestamp: now - 3600 + i, msg_id: `bench-${now}-${i}` };
  const prepared = prepareFrames([Buffer.from(s.topic), Buffer.from(wire(e))], limits, fill);
  if (prepared.kind !== 'ready') continue;
  const end = pairs.add(prepared.record, prepared.head);
  items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
  records++;
  if (items.count >= 128) cut();
}
if (items.count > 0) cut();

let sink = 0;
const fail = (err: unknown) => {
  throw err;
};
for (let p = 0; p < PASSES; p++) {
  for (const b of batches) {
    const messages = unpackBatch(b.items, b.buffer, fail) ?? [];
    for (const m of messages) {
      if (m.kind !== 'ready') continue;
      sink += m.id.length + m.meta.category.length + m.envelope.topic.length + m.record.byteLength;
      sink += typeof m.envelope.timestamp === 'number' ? 1 : 0;
      if (readBody) sink += typeof m.envelope.msg === 'object' ? 1 : 0;
      if (readFields) {
        const e = m.envelope;
        sink += typeof e['seq_id'] === 'number' ? 1 : 0;
        sink += typeof e.i === 'number' ? 1 : 0;
        sink += typeof e.msg_id === 'string' ? 1 : 0;
        sink += typeof e.username === 'string' ? 1 : 0;
        sink += typeof e['headers'] === 'object' ? 1 : 0;
      }
    }
  }
}
console.log(JSON.stringify({ passes: PASSES, records_per_pass: records, batches: batches.length, sink: sink > 0 }));
