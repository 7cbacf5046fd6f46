/**
 * The main thread's part of a live message from the bus thread's batch to its journal commit,
 * in process, counted in instructions: the fixture samples prepared into batches of 16 (a
 * trickle's batch at ~1 k msg/s) as the bus thread prepares them (prepareFrames, PairBatch,
 * ItemBatch), then, per batch, what bus-thread.ts's handle() and BusIngest.prepared() do on the
 * main thread: unpackBatch, Intake.fromThread for each message (clock bound, gap detector,
 * journal queue), and the group commit (a real LMDB file: the batch's append, its settlement,
 * confirmInFile, the hand-on to an empty plugin host), each batch's commit awaited before the
 * next batch is unpacked. Every message is new (a unique msg_id). Not counted: the MessagePort's
 * receive (structured clone of the batch), BusIngest's slicing.
 *
 * LMDB's writer thread does the puts: count the main thread alone (callgrind's
 * --separate-threads, the file ending -01), at two batch counts, and divide the difference by
 * the messages between (preparing and start-up are the same in both and cancel out):
 *
 *   export TMPDIR=/dev/shm   # (optional) the data file on tmpfs: no fsync waits, the run far shorter
 *   for n in 200 600; do valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/hc.$n \
 *     node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 \
 *     dist/bench/handover-commit.js $n; done
 *   (the `totals:` line of /tmp/hc.<n>-01: (I(600) − I(200)) / (400 × 16) is instructions per message)
 *   HANDOVER_COMMIT_DIST=/other/worktree/dist   the build measured (an A/B run)
 *   HANDOVER_COMMIT_PREPARED=600                 batches prepared (keep it equal across runs)
 *   HANDOVER_COMMIT_STAGE=unpack                 only unpackBatch (each message read as the intake reads
 *                                                it): with the full run, what the take-in and commit add
 *
 * The output (what was accepted and committed, the journal's position) must match between builds.
 * TurboFan compiling on the main thread (the per-commit functions still tiering up: 400 commits in
 * the window) moved 20.8–24.5 k a message between three runs of the same code at 200 → 600:
 * compare builds by callgrind_annotate's functions without the compiler's, or over 600 → 1,800
 * (HANDOVER_COMMIT_PREPARED=1800). docs/benchmarks.md, "The hand-over and the journal commit counted".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureSamples, wire } from './fedmsg-wire.js';

const TAKEN = Number(process.argv[2] ?? 100);
const PREPARED = Number(process.env['HANDOVER_COMMIT_PREPARED'] ?? 600);
const BATCH = 16;
const unpackOnly = process.env['HANDOVER_COMMIT_STAGE'] === 'unpack';
const dist = process.env['HANDOVER_COMMIT_DIST'] ?? new URL('../', import.meta.url).pathname;
const load = <T>(path: string) => import(`${dist}/${path}`) as Promise<T>;

if (TAKEN > PREPARED) throw new Error(`${TAKEN} batches asked for, ${PREPARED} prepared`);

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

type Packed = { readonly items: ReturnType<InstanceType<typeof ItemBatch>['take']>; readonly buffer: ArrayBuffer };
const batches: Packed[] = [];
for (let b = 0, n = 0; b < PREPARED; b++) {
  const items = new ItemBatch();
  const pairs = new PairBatch();
  while (items.count < BATCH) {
    const s = samples[n % samples.length] as (typeof samples)[number];
    const pass = Math.floor(n / samples.length);
    const e = { ...s, timestamp: now - 3600 + (n % 3000), msg_id: `handover-${n}`, i: pass + 1 };
    n++;
    const prepared = prepareFrames([Buffer.from(s.topic), Buffer.from(wire(e))], limits, fill);
    if (prepared.kind !== 'ready') continue;
    const end = pairs.add(prepared.record, prepared.head);
    items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
  }
  batches.push({ items: items.take(), buffer: pairs.take() });
}

const dir = mkdtempSync(join(tmpdir(), 'handover-commit-'));
const store = new DataStore(dir);
let committed = 0;
let read = 0;
let writeErrors = 0;
const core = assembleCore({
  config,
  store,
  plugins: [],
  now: () => Date.now(),
  restore: false,
  events: { journalWriteError: () => void writeErrors++ },
});
const fail = (err: unknown) => {
  throw err;
};
// As the service once live (service-start.ts): new ids settled by the Bloom filter, not an index read each.
await core.journal.known.build();
for (let b = 0; b < TAKEN; b++) {
  const { items, buffer } = batches[b] as Packed;
  const messages = unpackBatch(items, buffer, fail) ?? [];
  if (unpackOnly) {
    for (const m of messages)
      if (m.kind === 'ready') read += m.id.length + m.envelope.topic.length + m.envelope.timestamp;
    continue;
  }
  const clock = core.intake.nowSeconds();
  let at = performance.now();
  for (const m of messages) {
    core.intake.fromThread(m, clock, at);
    at = performance.now();
  }
  await core.journal.whenCommitted();
  committed += messages.length;
}
const { accepted, duplicates } = core.intake.counters;
console.log(
  JSON.stringify({
    taken: TAKEN,
    prepared: PREPARED,
    per_batch: BATCH,
    accepted,
    duplicates,
    committed,
    position: core.journal.position,
    in_file: core.journal.entries,
    writeErrors,
    read: read > 0,
    filter_skips: core.journal.known.stats.filterSkips,
  }),
);
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
