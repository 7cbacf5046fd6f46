// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a Service (dist build,
// its builtin plugins, uWS on an ephemeral port, a bind no one publishes to) takes 20 fixture
// messages and closes (no snapshot: they stay in the journal alone). A second one is built on
// the same data dir; a snapshot taken before its start (of a state that is no generation's, so
// it is written: one of the state a start restored unchanged writes nothing) fails at its
// meta-page write (MDB_PANIC), and then it is started: its replay reads the 20 records. Prints
// one JSON line: each outcome ('ok', or the error's name/code/message, or 'never settled' past
// 10 s).
// argv: <data dir> <trigger file> <fixtures samples.jsonl>
import { rmSync, writeFileSync } from 'node:fs';
import { faultedService, recentSamples } from './panicked-child.mjs';
import { settledOutcome as bounded } from './settled-outcome.mjs';

const [dataDir, trigger, samplesFile] = process.argv.slice(2);

const samples = recentSamples(samplesFile, '2026-panicked-start');
const build = (fatal) => faultedService(dataDir, fatal);

const report = {};
const first = await build([]);
await first.start();
for (const m of samples.slice(0, 20)) first.accept(m);
report.firstSettled = await bounded(first.settled());
report.firstClose = await bounded(first.close());

const fatal = [];
const second = await build(fatal);
writeFileSync(trigger, '');
report.snapshot = await bounded(second.snapshot());
rmSync(trigger);
report.start = await bounded(second.start());
report.fatal = fatal;
report.close = await bounded(second.close());
console.log(JSON.stringify(report));
process.exit(0);
