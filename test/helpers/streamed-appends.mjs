// Under a soft file size limit it sets on itself (prlimit): appends journal records to a real LMDB
// file through DataStore one message per append, a few per event-loop turn, as the bus hands them
// over, until commits fail and a few turns more. Repeats in `dirs` fresh data dirs and prints one
// JSON line: appends made, failed, still pending after a bound, and every append said committed
// whose record is not in the file.
// argv: <root dir> <file size limit, bytes> <dirs> <most appends per turn> <seed>
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';

const [root, limit, dirs, perTurn, seed] = process.argv.slice(2);
const SETTLE_BOUND_MS = 15_000;
/** Turns appended after the first refused commit: the refusals come in bursts around the limit. */
const TURNS_AFTER_FAILURE = 10;
const MAX_RECORDS = 2_000;
let state = Number(seed);
const random = () => {
  state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
  return state / 2_147_483_648;
};
const report = { dirs: 0, appends: 0, failed: 0, pending: 0, committedNotInFile: [] };

for (let d = 0; d < Number(dirs); d++) {
  const fsize = (value) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${value}`]);
  fsize(`${limit}:unlimited`);
  const store = new DataStore(mkdtempSync(join(root, 'streamed-')));
  const outcomes = new Map();
  const settled = [];
  let seq = 0;
  let turnsLeft = TURNS_AFTER_FAILURE;
  let failedHere = 0;
  while (seq < MAX_RECORDS && (failedHere === 0 || turnsLeft-- > 0)) {
    const n = 1 + Math.floor(random() * Number(perTurn));
    for (let i = 0; i < n; i++) {
      const s = ++seq;
      const value = new Uint8Array(2000).fill(s % 251);
      const write = store.appendJournal([{ seq: s, id: `streamed-${s}`, timestamp: 1_700_000_000 + s, value }]);
      settled.push(
        write.then(
          () => outcomes.set(s, 'ok'),
          () => {
            outcomes.set(s, 'failed');
            failedHere++;
          },
        ),
      );
    }
    // A delivery or two per turn, as the AMQP consumer hands them over.
    await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
  }
  let timer;
  await Promise.race([Promise.all(settled), new Promise((r) => (timer = setTimeout(r, SETTLE_BOUND_MS)))]);
  clearTimeout(timer);
  report.appends += seq;
  report.failed += failedHere;
  report.pending += seq - outcomes.size;
  for (const [s, outcome] of outcomes)
    if (outcome === 'ok' && store.journalRecord(s) === undefined) report.committedNotInFile.push(`${d}:${s}`);
  fsize('unlimited');
  await store.close();
  report.dirs++;
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
