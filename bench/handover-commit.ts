/**
 * The main thread's part of a live message from the bus thread's batch to its journal commit,
 * in process, counted in instructions: the fixture samples prepared into batches of 16 (a
 * trickle's batch at ~1 k msg/s) as the bus thread prepares them (prepareFrames, PairBatch,
 * ItemBatch), then, per batch, what bus-thread.ts's handle() and BusIngest.prepared() do on the
 * main thread: unpackBatch, Intake.fromThread for each message (clock bound, gap detector,
 * journal queue), and the group commit (a real LMDB file: the batch's append, its settlement,
 * confirmInFile, the hand-on to an empty plugin host), each batch's commit awaited before the
 * next batch is unpacked. Every message is new (a unique msg_id). Not counted: the MessagePort's
 * receive (structured clone of the batch) unless HANDOVER_COMMIT_PORT=1, BusIngest's slicing.
 *
 * LMDB's writer thread does the puts: count the main thread alone (callgrind's
 * --separate-threads, the file ending -01), at two batch counts, and divide the difference by
 * the messages between (preparing and start-up are the same in both and cancel out):
 *
 *   export TMPDIR=/dev/shm   # (optional) the data file on tmpfs: no fsync waits, the run far shorter
 *   for n in 200 600; do valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/hc.$n \
 *     node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 \
 *     --max-inlined-bytecode-size-cumulative=230 dist/bench/handover-commit.js $n; done
 *   (the `totals:` line of /tmp/hc.<n>-01: (I(600) − I(200)) / (400 × 16) is instructions per message)
 *   The inlining flag is the service's own budget (src/v8-inlining.ts sets it in serve, not here).
 *   To compare builds use 600 and 1800 with HANDOVER_COMMIT_PREPARED=1800: in the 200 → 600 window
 *   one full collection falling inside or outside it moved the figure by ~25 k a message.
 *   HANDOVER_COMMIT_DIST=/other/worktree/dist   the build measured (an A/B run)
 *   HANDOVER_COMMIT_PREPARED=600                 batches prepared (keep it equal across runs)
 *   HANDOVER_COMMIT_STAGE=unpack                 only unpackBatch (each message read as the intake reads
 *                                                it): with the full run, what the take-in and commit add
 *   HANDOVER_COMMIT_PORT=1                       each batch received over a real MessagePort from a worker
 *                                                thread (port-batches.ts), as bus-thread.ts receives it:
 *                                                the receive counted too (its file is still the -01)
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
import { portBatches } from './port-batches.js';
import { type PackedBatch, threadBatches } from './thread-batches.js';

const TAKEN = Number(process.argv[2] ?? 100);
const PREPARED = Number(process.env['HANDOVER_COMMIT_PREPARED'] ?? 600);
const BATCH = 16;
const unpackOnly = process.env['HANDOVER_COMMIT_STAGE'] === 'unpack';
const overPort = process.env['HANDOVER_COMMIT_PORT'] === '1';
const dist = process.env['HANDOVER_COMMIT_DIST'] ?? new URL('../', import.meta.url).pathname;

if (TAKEN > PREPARED) throw new Error(`${TAKEN} batches asked for, ${PREPARED} prepared`);

const { batches, config, unpackBatch, assembleCore, DataStore } = await threadBatches(
  dist,
  PREPARED,
  BATCH,
  'handover',
);

type ThreadMessages = NonNullable<ReturnType<typeof unpackBatch>>;

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
const port = overPort ? portBatches(batches) : null;
for (let b = 0; b < TAKEN; b++) {
  let messages: ThreadMessages;
  if (port === null) {
    const { items, buffer } = batches[b] as PackedBatch;
    messages = unpackBatch(items, buffer, fail) ?? [];
  } else {
    // As bus-thread.ts's handle(): the batch as received, its buffer beside its items.
    const batch = await port.next();
    messages = unpackBatch(batch, batch.buffer, fail) ?? [];
  }
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
    over_port: overPort,
    filter_skips: core.journal.known.stats.filterSkips,
  }),
);
await port?.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
