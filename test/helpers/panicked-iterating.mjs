// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): opens a DataStore on a
// fresh data dir, appends 10 records, and begins reading them back (journalAfter, as the start-up
// replay does) without finishing: its read transaction stays open. Then the data file's meta-page
// writes fail while one append commits (MDB_PANIC), and the iterator is left open meanwhile.
// Prints one JSON line: the append's outcome (the error's name/code/message, 'ok', or 'never
// settled' past 10 s) and the store's panic code once it settled.
// argv: <data dir> <trigger file>
import { rmSync, writeFileSync } from 'node:fs';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';
import { settledOutcome } from './settled-outcome.mjs';

const [dir, trigger] = process.argv.slice(2);

const record = (seq) => ({ seq, id: `iterating-${seq}`, timestamp: 1_700_000_000 + seq, value: new Uint8Array([1]) });
const store = new DataStore(dir, { probeAfterMs: 200 });
await store.appendJournal(Array.from({ length: 10 }, (_, i) => record(i + 1)));
const replay = store.journalAfter(0, (seq) => seq);
const report = { first: replay.next().value };

writeFileSync(trigger, '');
report.append = await settledOutcome(store.appendJournal([record(11)]));
rmSync(trigger);
report.panic = store.panic?.code ?? null;
console.log(JSON.stringify(report));
process.exit(0);
