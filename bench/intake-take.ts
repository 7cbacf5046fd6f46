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
import { threadBatches } from './thread-batches.js';

const TAKEN = Number(process.argv[2] ?? 100);
const PREPARED = Number(process.env['TAKE_PREPARED'] ?? 400);
const BATCH = 16;
const dist = process.env['TAKE_DIST'] ?? new URL('../', import.meta.url).pathname;

const parts = await threadBatches(dist, PREPARED, BATCH, 'take');
const { config, assembleCore, DataStore } = parts;
const fail = (err: unknown) => {
  throw err;
};
type Messages = NonNullable<ReturnType<typeof parts.unpackBatch>>;
const batches: Messages[] = parts.batches.map(({ items, buffer }) => parts.unpackBatch(items, buffer, fail) ?? []);

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
