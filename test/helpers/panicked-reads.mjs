// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a journal of 10 messages
// on a fresh data dir, its memory window 2 ids (older ids are looked up in the id index, as past
// --dedupe-window in service). The journal is read back from its start (Journal.after, as the
// start-up replay reads it) and left after its first entry: its iterator, and the read
// transaction under it, stay open. Then the data file's meta-page writes fail while one append
// commits: MDB_PANIC. Asked meanwhile, each of the store's kinds of read: seen() of a stored id
// (the index) and of a new one, accept() of a duplicate, get, getById, the entry count, the
// snapshot slots, the file check's walk, the held iterator's next step and a fresh one's first,
// then the walk and the check's slot scan once the held transaction is let go.
// Prints one JSON line: each outcome as { value } or the thrown error's name/code/message, and
// the store's panic code. argv: <data dir> <trigger file>
import { rmSync, writeFileSync } from 'node:fs';
import { Journal } from '../../dist/snapshots/journal.js';
import { encodeJournalRecord, messageId } from '../../dist/snapshots/journal-record.js';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';
import { settledOutcome } from './settled-outcome.mjs';

const [dir, trigger] = process.argv.slice(2);
const TOPIC = 'org.fedoraproject.prod.git.receive';
const envelope = (i) => ({ topic: TOPIC, timestamp: 1_700_000_000 + i, msg_id: `reads-${i}`, msg: { i } });

const store = new DataStore(dir, { probeAfterMs: 200 });
const journal = new Journal(store, { dedupeWindow: 2, onWriteError: () => undefined });
for (let i = 1; i <= 10; i++) journal.accept(envelope(i));
await journal.flush();

const held = journal.after(0, { remember: false });
const report = { first: held.next().value?.seq ?? null };

writeFileSync(trigger, '');
const failing = envelope(11);
const failingId = messageId(failing);
report.append = await settledOutcome(
  store.appendJournal([
    { seq: 11, id: failingId, timestamp: failing.timestamp, value: encodeJournalRecord(failingId, failing) },
  ]),
);
rmSync(trigger);
report.panic = store.panic?.code ?? null;

/** A read's answer as { value }, or the error it is refused with. */
const outcome = (read) => {
  try {
    return { value: read() ?? null };
  } catch (e) {
    return { name: e?.name, code: e?.code, message: String(e?.message ?? e) };
  }
};
report.seenStored = outcome(() => journal.seen(messageId(envelope(3))));
report.seenNew = outcome(() => journal.seen(messageId(envelope(99))));
report.acceptDuplicate = outcome(() => journal.accept(envelope(4))?.seq);
report.get = outcome(() => journal.get(5)?.id);
report.getById = outcome(() => journal.getById(messageId(envelope(6)))?.seq);
report.entries = outcome(() => journal.entries);
report.slots = outcome(() => store.slots());
// The file check's walk while the held transaction is open: its first read (the database names) would answer from it.
report.walkHeld = outcome(() => store.walk());
report.heldNext = outcome(() => held.next().value?.seq);
report.freshAfter = outcome(() => journal.after(0, { remember: false }).next().value?.seq);
report.walk = outcome(() => store.walk());
report.occupiedSlots = outcome(() => store.occupiedSlots());
console.log(JSON.stringify(report));
process.exit(0);
