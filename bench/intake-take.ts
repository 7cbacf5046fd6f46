/**
 * The main thread's take-in of bus-thread batches, in process: the fixture samples prepared
 * into batches of 16 as the bus thread prepares them (prepareFrames, PairBatch, ItemBatch) and
 * unpacked (unpackBatch) before anything is counted, then each batch taken in as
 * BusIngest.prepared() takes it (Intake.fromThread: clock bound, gap detector, journal, accept
 * bookkeeping), all in one go; the process ends before the journal commits, so neither the
 * commit nor the apply is counted. Every message is new (a unique msg_id); `i` counts up per pass.
 *
 * Run at two batch counts under callgrind and divide the difference by the messages between
 * (preparing, unpacking and start-up are the same in both and cancel out):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 dist/bench/intake-take.js 100
 *   TAKE_DIST=/other/worktree/dist   the build measured (an A/B run)
 *   TAKE_PREPARED=400                batches prepared (whatever is taken in: keep it equal across runs)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureSamples, wire } from './fedmsg-wire.js';

const TAKEN = Number(process.argv[2] ?? 100);
const PREPARED = Number(process.env['TAKE_PREPARED'] ?? 400);
const BATCH = 16;
const dist = process.env['TAKE_DIST'] ?? new URL('../', import.meta.url).pathname;
const load = <T>(path: string) => import(`${dist}/${path}`) as Promise<T>;

await import(`${dist}/src/msgpack-strings.js`);
const { prepareFrames, threadLimits, unclocked } =
  await load<typeof import('../src/bus-prepare.js')>('src/bus-prepare.js');
const { PairBatch } = await load<typeof import('../src/transfer-buffer.js')>('src/transfer-buffer.js');
const { ItemBatch } = await load<typeof import('../src/bus-thread-protocol.js')>('src/bus-thread-protocol.js');
const { unpackBatch } = await load<typeof import('../src/bus-thread-batch.js')>('src/bus-thread-batch.js');
const { loadConfig } = await load<typeof import('../src/config.js')>('src/config.js');
const { assembleCore } = await load<typeof import('../src/core.js')>('src/core.js');
const { DataStore } = await load<typeof import('../snapshots/lmdb-store.js')>('snapshots/lmdb-store.js');

const samples = fixtureSamples();
// The same ids and timestamps run after run (within the hour): a Map's probes depend on the strings.
const now = Math.floor(Date.now() / 3_600_000) * 3600;
const config = loadConfig({ env: {}, flags: { port: 0 } });
const limits = unclocked(threadLimits(config));
const fill = () => Date.now() / 1000;

type Messages = NonNullable<ReturnType<typeof unpackBatch>>;
const batches: Messages[] = [];
const fail = (err: unknown) => {
  throw err;
};
for (let b = 0, n = 0; b < PREPARED; b++) {
  const items = new ItemBatch();
  const pairs = new PairBatch();
  while (items.count < BATCH) {
    const s = samples[n % samples.length] as (typeof samples)[number];
    const pass = Math.floor(n / samples.length);
    const e = { ...s, timestamp: now - 3600 + (n % 3000), msg_id: `take-${n}`, i: pass + 1 };
    n++;
    const prepared = prepareFrames([Buffer.from(s.topic), Buffer.from(wire(e))], limits, fill);
    if (prepared.kind !== 'ready') continue;
    const end = pairs.add(prepared.record, prepared.head);
    items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
  }
  batches.push(unpackBatch(items.take(), pairs.take(), fail) ?? []);
}

const dir = mkdtempSync(join(tmpdir(), 'intake-take-'));
const store = new DataStore(dir);
const core = assembleCore({ config, store, plugins: [], now: () => Date.now(), restore: false });
// What BusIngest.prepared() does per message, without its turns (a slice under callgrind is a
// message or two, and each turn would start a journal commit of its own on LMDB's thread): one
// monotonic clock read per message for the slice, and, in a build whose fromThread takes them,
// the service's clock once per batch and that read as the accepted-at.
const intake = core.intake as typeof core.intake & { nowSeconds?: () => number };
const batchClock = typeof intake.nowSeconds === 'function';
let sliced = 0;
for (let b = 0; b < TAKEN; b++) {
  const messages = batches[b] as Messages;
  if (batchClock) {
    const now = (intake.nowSeconds as () => number)();
    let at = performance.now();
    for (const m of messages) {
      intake.fromThread(m, now, at);
      at = performance.now();
      if (at < 0) sliced++;
    }
  } else {
    for (const m of messages) {
      intake.fromThread(m);
      if (performance.now() < 0) sliced++;
    }
  }
}
// Out before the journal's commit starts (the next turn): LMDB's writer thread would add its
// own work, and its waits made counts of the same run differ by ~60 k instructions a message.
const { accepted, duplicates } = core.intake.counters;
console.log(JSON.stringify({ taken: TAKEN, prepared: PREPARED, per_batch: BATCH, accepted, duplicates, sliced }));
rmSync(dir, { recursive: true, force: true });
process.exit(0);
