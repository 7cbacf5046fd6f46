// A DataStore of the dist build on a real LMDB file whose growth this process refuses (prlimit on
// itself: commits fail with EFBIG, as on a full disk). Every write so far committed, so close()
// waits for LMDB's flush; an append queued in the same turn fails while it waits. Prints one JSON
// line: how close() settled (what it resolved with, or its rejection), or that it did not settle
// within BOUND_MS (a bound on a hang, not a timing under test: a close that settles clears it at
// once); the status lmdb-js gives the environment's handle then ('open' unless close was asked of
// it); how the append failed; and the reads of the data file its failure handler's panic check
// made (StorePanic's readAfresh, watched as it is called, passed through to LMDB as it is). Then it does nothing more: whether the process ends on its own
// is for the test to see.
// argv: <data dir>
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILE, DataStore } from '../../dist/snapshots/lmdb-store.js';
import { journalRecords, watchReads } from './store-child.mjs';

const BOUND_MS = 20_000;
const [dir] = process.argv.slice(2);
const store = new DataStore(dir);
const records = journalRecords();
const described = (err) => (err === null || err === undefined ? err : { name: err.name, message: String(err.message) });

/** `promise`'s outcome, or 'did not settle' once BOUND_MS passed without one. */
function bounded(promise) {
  let timer;
  const bound = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ settled: 'did not settle' }), BOUND_MS);
  });
  const outcome = promise.then(
    (value) => ({ settled: 'resolved', value: described(value) }),
    (err) => ({ settled: 'rejected', err: described(err) }),
  );
  return Promise.race([outcome, bound]).finally(() => clearTimeout(timer));
}

await store.appendJournal(records(10));
const size = statSync(join(dir, DATA_FILE)).size;
execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${size}:unlimited`]);
// 200 records of 2 kB: the file must grow, and cannot. Queued first, so close() waits on its commit.
const append = bounded(store.appendJournal(records(200)));
const reads = watchReads(store);
const close = await bounded(store.close());
const status = store.root.status ?? 'open';
process.stdout.write(`${JSON.stringify({ close, status, append: await append, reads })}\n`);
