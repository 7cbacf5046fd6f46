// A DataStore of the dist build on a real LMDB file whose growth this process refuses (prlimit on
// itself: commits fail with EFBIG, as on a full disk). One append fails, so close() returns at
// once (store-commits.ts); a second is queued, and close() called in the same turn, so that
// append's failure reaches the store's failure handler only after close() returned. Prints one
// JSON line: how each append failed; the reads of the data file the store's panic check made
// (StorePanic's readAfresh, watched as it is called, passed through to LMDB as it is) and every
// timer started, from the moment close() returned until that second append settled, the timers
// with the frames that started them (lmdb-js starts one at each read that begins or renews a read
// transaction: read.js renewReadTxn). Then it does nothing more: whether the process ends on its
// own is for the test to see.
// argv: <data dir>
import { createHook } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILE, DataStore } from '../../dist/snapshots/lmdb-store.js';
import { journalRecords, watchReads } from './store-child.mjs';

const [dir] = process.argv.slice(2);
let watching = false;
const started = [];
createHook({
  init(_id, type) {
    if (watching && type === 'Timeout')
      started.push(
        (new Error().stack ?? '')
          .split('\n')
          .filter((l) => /node_modules|dist\//.test(l))
          .map((l) => l.trim()),
      );
  },
}).enable();

const store = new DataStore(dir);
const records = journalRecords();
const failure = (err) => ({ name: err?.name, message: String(err?.message) });

await store.appendJournal(records(10));
const size = statSync(join(dir, DATA_FILE)).size;
execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${size}:unlimited`]);
// 200 records of 2 kB: the file must grow, and cannot.
const first = await store.appendJournal(records(200)).then(() => null, failure);
const late = store.appendJournal(records(200)).then(() => null, failure);
// The store's own read (lmdb-store.ts readAfresh), counted on its way to LMDB while watching.
const reads = watchReads(store, () => watching);
await store.close();
watching = true;
const second = await late;
watching = false;
process.stdout.write(`${JSON.stringify({ first, second, reads, started })}\n`);
