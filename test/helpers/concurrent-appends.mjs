// Under a soft file size limit it sets on itself (prlimit): appends journal batches to a real LMDB
// file through DataStore, several queued at once, until commits fail, then lifts the limit and appends
// once more. Repeats in `dirs` fresh data dirs (stopping at the first append that never settles)
// and prints one JSON line: how many appends never settled, how many outcomes the
// store settled from the file, and any append whose stated outcome the file contradicts.
// argv: <root dir> <file size limit, bytes> <records per append> <appends queued at once> <dirs> <probe after ms>
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';

const [root, limit, per, inflight, dirs, probeAfterMs] = process.argv.slice(2);
const PER = Number(per);
const INFLIGHT = Number(inflight);
const SETTLE_BOUND_MS = 15_000;
const report = { dirs: 0, appends: 0, failed: 0, neverSettled: 0, recovered: 0, contradicted: [], afterLimit: 'none' };

/** Resolves with each outcome, or with null for those still pending after SETTLE_BOUND_MS. */
function settled(writes) {
  const outcomes = writes.map(() => null);
  const all = Promise.all(
    writes.map((w, i) =>
      w.promise.then(
        () => (outcomes[i] = 'ok'),
        () => (outcomes[i] = 'failed'),
      ),
    ),
  );
  // A timer that holds the process open: the store's own probe timer does not (unref'd, as a
  // service has other handles), and a child whose writes never settle must report, not exit 13.
  let timer;
  const bound = new Promise((r) => (timer = setTimeout(r, SETTLE_BOUND_MS)));
  return Promise.race([all, bound]).then(() => {
    clearTimeout(timer);
    return outcomes;
  });
}

for (let d = 0; d < Number(dirs) && report.neverSettled === 0; d++) {
  const fsize = (value) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${value}`]);
  fsize(`${limit}:unlimited`);
  const store = new DataStore(mkdtempSync(join(root, 'appends-')), { probeAfterMs: Number(probeAfterMs) });
  let seq = 0;
  const append = () => {
    const records = [];
    for (let i = 0; i < PER; i++) {
      seq++;
      records.push({
        seq,
        id: `append-${seq}`,
        timestamp: 1_700_000_000 + seq,
        value: new Uint8Array(2000).fill(seq % 251),
      });
    }
    return { first: seq - PER + 1, promise: store.appendJournal(records) };
  };
  const checked = [];
  let failures = 0;
  for (let round = 0; round < 200 && failures < 20 && report.neverSettled === 0; round++) {
    const writes = Array.from({ length: INFLIGHT }, append);
    const outcomes = await settled(writes);
    writes.forEach((w, i) => {
      report.appends++;
      if (outcomes[i] === null) report.neverSettled++;
      else checked.push({ first: w.first, outcome: outcomes[i] });
      if (outcomes[i] === 'failed') failures++;
    });
  }
  report.failed += failures;
  report.dirs++;
  report.recovered += store.appendOutcomesRecovered;
  if (report.neverSettled > 0) break;
  for (const { first, outcome } of checked) {
    // Every record of the append: one transaction's records land together or not at all.
    const inFile = Array.from({ length: PER }, (_, i) => store.journalRecord(first + i) !== undefined);
    if (inFile.some((r) => r !== (outcome === 'ok'))) report.contradicted.push({ first, outcome, inFile });
  }
  // Room again: the store must take writes as before.
  fsize('unlimited');
  const [after] = await settled([append()]);
  report.afterLimit = after ?? 'pending';
  await store.close();
  if (after !== 'ok') break;
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
