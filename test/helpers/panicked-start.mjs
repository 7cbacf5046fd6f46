// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a Service (dist build,
// its builtin plugins, uWS on an ephemeral port, a bind no one publishes to) takes 20 fixture
// messages and stops (its final snapshot). A second one is built on the same data dir; a
// snapshot taken before its start fails at its meta-page write (MDB_PANIC), and then it is
// started: its replay reads the data file. Prints one JSON line: each outcome ('ok', or the
// error's name/code/message, or 'never settled' past 10 s).
// argv: <data dir> <trigger file> <fixtures samples.jsonl>
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../dist/src/config.js';
import { createLogger } from '../../dist/src/logger.js';
import { Service } from '../../dist/src/service.js';
import { settledOutcome as bounded } from './settled-outcome.mjs';

const [dataDir, trigger, samplesFile] = process.argv.slice(2);

const now = Math.floor(Date.now() / 1000);
const samples = readFileSync(samplesFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l, i) => ({ ...JSON.parse(l), timestamp: now - 100 + i, msg_id: `2026-panicked-start-${i}` }));
const config = loadConfig({
  env: {},
  flags: { port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], dataDir, snapshotInterval: 3600 },
});
const build = (fatal) =>
  Service.build({ config, logger: createLogger('silent'), onFatal: (err) => fatal.push(err.message) });

const report = {};
const first = await build([]);
await first.start();
for (const m of samples.slice(0, 20)) first.accept(m);
report.firstSettled = await bounded(first.settled());
report.firstStop = await bounded(first.stop());

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
