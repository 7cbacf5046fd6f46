// A process holding nothing but a Service's start-up replay, as a tool or embedder that calls
// recover() and never listens. `write` journals <n> fixture messages into <data dir> and closes
// it; `replay` has a service on a data dir so written recover with the replay thread taking over
// after the probe (lowered thresholds), prints what it replayed, and closes. Whether a `replay`
// process gets that far is what the test looks at: with nothing else alive, a wait left
// unsettled ends it with exit 13 (top-level await). Apart so that one journal, written once and
// copied, serves every replay run: the writing was half of each run's CPU, and a replay process
// that never wrote holds even less that could keep its event loop alive.
// argv: write <data dir> <fixtures samples.jsonl> <n> | replay <data dir>
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../dist/src/config.js';
import { createLogger } from '../../dist/src/logger.js';
import { Service } from '../../dist/src/service.js';

const [mode, dataDir, samplesFile, n] = process.argv.slice(2);
const logger = createLogger('silent');
const build = (replayThread) =>
  Service.build({
    config: loadConfig({ env: {}, flags: { dataDir, port: 0, replayThread } }),
    logger,
    replayThreadWorthUs: 0,
    replayThreadMinEntries: 0,
  });
if (mode === 'write') {
  const samples = readFileSync(samplesFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
  // An hour ago onwards, a hundredth of a second apart: none in the future, none expired.
  const from = Math.floor(Date.now() / 1000) - 3600;
  const writer = await build(false);
  for (let i = 0; i < Number(n); i++)
    writer.accept({ ...samples[i % samples.length], msg_id: `alone-${i}`, timestamp: from + i / 100 });
  await writer.settled();
  await writer.close();
  console.log(JSON.stringify({ accepted: writer.counters.accepted }));
} else if (mode === 'replay') {
  const reader = await build(true);
  await reader.recover();
  const replayed = reader.counters.replayed;
  const metrics = await reader.metrics.refresh();
  const onThread = Number(/^statscache_intake_total\{event="replayed_on_thread"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  await reader.close();
  console.log(JSON.stringify({ replayed, onThread }));
} else {
  throw new Error(`usage: replay-alone.mjs write <data dir> <samples.jsonl> <n> | replay <data dir>`);
}
