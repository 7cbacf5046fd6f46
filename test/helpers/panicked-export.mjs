// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a Service in this
// process (dist build, its builtin plugins, a bind no one publishes to) takes 20 fixture
// messages and writes generation 1. Then `snapshot export`'s walk starts in a process of its own
// (export-walk-held.mjs) and is held with its read transaction open, while this data file's
// meta-page writes fail as 5 more messages come (MDB_PANIC). The service's onFatal is only
// recorded here. Then the walk is let go and writes its export. Prints one JSON line.
// argv: <data dir> <trigger file> <fixtures samples.jsonl> <export out file>
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { faultedService, recentSamples } from './panicked-child.mjs';
import { settledOutcome } from './settled-outcome.mjs';

const [dataDir, trigger, samplesFile, out] = process.argv.slice(2);
const WALK = fileURLToPath(new URL('./export-walk-held.mjs', import.meta.url));

const samples = recentSamples(samplesFile, '2026-export');
const fatal = [];
const service = await faultedService(dataDir, fatal);
await service.start();
for (const m of samples.slice(0, 20)) service.accept(m);
const report = { before: await settledOutcome(service.settled()) };
report.generation = (await service.snapshot()).generation;

// The walk's process reads only: the injector refuses nothing of it (it is not in LD_PRELOAD's way).
const walk = spawn(process.execPath, [WALK, dataDir, '3600', out], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: walk.stdout });
const firstLine = (await once(lines, 'line'))[0];
report.walk = firstLine;

writeFileSync(trigger, '');
for (const m of samples.slice(20, 25)) service.accept(m);
report.settledRefused = await settledOutcome(service.settled());
rmSync(trigger);
report.fatal = fatal;

walk.stdin.end('go\n');
const [walked] = await once(lines, 'line');
report.walked = JSON.parse(walked);
report.walkExit = (await once(walk, 'exit'))[0];
report.stop = await settledOutcome(service.stop());
console.log(JSON.stringify(report));
process.exit(0);
