// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a journal of 10 messages
// on a fresh data dir, served by the history routes (/raw, /id) with a scan gate. A filtered
// /raw scan reads its first message and is held at its first pause between slices: its journal
// iterator, and the read transaction under it, stay open. Then the data file's meta-page writes
// fail while one append (a message the scan's filter matches) commits: MDB_PANIC. Asked while the
// scan is held: an unfiltered /raw page and /id of a stored message; then the scan is let go.
// Prints one JSON line: each outcome as { status, ids, total } for an answer, or the thrown
// error's name/code/message (what the service answers 503 data_file_failed), and the store's
// panic code. argv: <data dir> <trigger file>
import { rmSync, writeFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Journal } from '../../dist/snapshots/journal.js';
import { encodeJournalRecord, messageId } from '../../dist/snapshots/journal-record.js';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';
import { createHistoryHandler } from '../../dist/src/http/history-routes.js';
import { ScanGate } from '../../dist/src/http/scan-gate.js';
import { deriveMeta } from '../../dist/src/meta/index.js';
import { settledOutcome } from './settled-outcome.mjs';

const [dir, trigger] = process.argv.slice(2);
const TOPIC = 'org.fedoraproject.prod.git.receive';
const envelope = (i) => ({ topic: TOPIC, timestamp: 1_700_000_000 + i, msg_id: `history-${i}`, msg: { i } });

const store = new DataStore(dir, { probeAfterMs: 200 });
const journal = new Journal(store, { dedupeWindow: 100, onWriteError: () => undefined });
for (let i = 1; i <= 10; i++) journal.accept(envelope(i));
await journal.flush();

// The slice clock moves 5 ms a look (past the scan's 4 ms slice): the scan pauses after each
// message. Its first pause is held until let go; the later ones let the loop run, as in service.
let sliceMs = 0;
let pauses = 0;
let heldAt;
const reachedHold = new Promise((resolve) => (heldAt = resolve));
let letGo;
const hold = new Promise((resolve) => (letGo = resolve));
const handler = createHistoryHandler({
  journal,
  deriveMeta,
  nowSeconds: () => 1_700_001_000,
  scans: {
    gate: new ScanGate(2, 2),
    timeoutSeconds: 3600,
    slices: {
      sliceNowMs: () => (sliceMs += 5),
      pause: () => {
        if (pauses++ > 0) return yieldToLoop();
        heldAt();
        return hold;
      },
    },
  },
});

/** An answer as its status and the messages it serves, or the error it is refused with. */
const outcome = async (path, query) => {
  try {
    const res = await handler({ method: 'GET', path, query, header: () => '' });
    const body = JSON.parse(res.body);
    const messages = body.raw_messages ?? [body];
    return { status: res.status, ids: messages.map((m) => m.msg_id), total: body.total ?? null };
  } catch (e) {
    return { name: e?.name, code: e?.code, message: String(e?.message ?? e) };
  }
};

const scan = outcome('/raw', `topic=${TOPIC}&start=0&end=1700001000&rows_per_page=100`);
await reachedHold;
const report = { pausesBeforeFault: pauses };

writeFileSync(trigger, '');
const failing = envelope(11);
const id = messageId(failing);
report.append = await settledOutcome(
  store.appendJournal([{ seq: 11, id, timestamp: failing.timestamp, value: encodeJournalRecord(id, failing) }]),
);
rmSync(trigger);
report.panic = store.panic?.code ?? null;

report.rawWhileHeld = await outcome('/raw', 'start=0&end=1700001000&rows_per_page=100');
report.idWhileHeld = await outcome('/id', 'id=history-3');
letGo();
report.scan = await scan;
report.rawAfter = await outcome('/raw', 'start=0&end=1700001000&rows_per_page=100');
console.log(JSON.stringify(report));
process.exit(0);
