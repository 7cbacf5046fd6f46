// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): opens a DataStore on a
// fresh data dir, appends, then makes the data file's meta-page writes fail while four journal
// appends are queued at once (one commit writes its data pages and fails its meta page: LMDB's
// environment fails for good, MDB_PANIC), lets them through again, and tries every other kind
// of write and a read. Prints one JSON line: each outcome ('ok', the error's name/code/message,
// or 'never settled' past 10 s), the panic listener's calls, and whether close() settled.
// argv: <data dir> <trigger file>
import { rmSync, writeFileSync } from 'node:fs';
import { Journal } from '../../dist/snapshots/journal.js';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';
import { settledOutcome as outcome } from './settled-outcome.mjs';

const [dir, trigger] = process.argv.slice(2);

const record = (seq) => ({ seq, id: `panic-${seq}`, timestamp: 1_700_000_000 + seq, value: new Uint8Array([1, 2, 3]) });
// Probes after 200 ms: a write pending that long asks whether the environment failed.
const store = new DataStore(dir, { probeAfterMs: 200 });
const report = { before: await outcome(store.appendJournal([record(1), record(2)])) };
const panics = [];
store.onPanic((err) => panics.push(err.message));
// As the service's: built before the panic, its id filter not built yet (start-up, while the
// index loads), so a new id's de-duplication reads the id index.
const journal = new Journal(store, { dedupeWindow: 4, onWriteError: () => {} });

writeFileSync(trigger, '');
report.refused = await Promise.all([3, 4, 5, 6].map((seq) => outcome(store.appendJournal([record(seq)]))));
rmSync(trigger);

report.append = await outcome(store.appendJournal([record(7)]));
report.snapshot = await outcome(store.writeSnapshot((batch) => batch.putMeta(0, new Uint8Array([9]))));
report.trim = await outcome(store.truncate(2, () => null));
try {
  store.seqOfId('panic-1');
  report.read = 'ok';
} catch (err) {
  const panic = store.panicOf(err);
  report.read = panic === null ? { other: String(err?.message) } : { code: panic.code, message: panic.message };
}
// A new id's lookup: it must fail with the panic, never answer "not seen" or LMDB's bare error.
try {
  const entry = journal.accept({ topic: 'org.example.panic', timestamp: 1_700_000_100, msg_id: 'panic-new', msg: {} });
  report.lookup = entry === null ? 'duplicate' : 'accepted';
} catch (err) {
  report.lookup = { name: err?.name, code: err?.code, message: String(err?.message) };
}
report.failedForGood = journal.failedForGood?.code ?? null;
report.panics = panics;
report.close = await outcome(store.close());
console.log(JSON.stringify(report));
process.exit(0);
