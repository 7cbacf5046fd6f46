// `snapshot export`'s walk (buildExport, as the CLI and GET /admin/export's child run it) over a
// data dir in use by another process, held once it has read the journal tail's first message:
// its read transaction stays open until a line arrives on stdin. Prints "walking" when held,
// writes the export to <out file> and prints one JSON line: the generation and the journal
// messages it carries. argv: <data dir> <journal tail seconds> <out file>
import { readSync, writeFileSync } from 'node:fs';
import { Journal } from '../../dist/snapshots/journal.js';
import { DataStore } from '../../dist/snapshots/lmdb-store.js';
import { buildExport } from '../../dist/src/commands/snapshot-export.js';

const [dataDir, tail, out] = process.argv.slice(2);
const store = new DataStore(dataDir, { readOnly: true });
const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
const held = {
  *byTime(start, end, order) {
    let first = true;
    for (const entry of journal.byTime(start, end, order)) {
      yield entry;
      if (!first) continue;
      first = false;
      process.stdout.write('walking\n');
      // Blocks this process until the parent writes: the walk (and its transaction) stay where they are.
      readSync(0, Buffer.alloc(64));
    }
  },
};
const built = buildExport(store, held, Number(tail)).export;
if (built !== null) writeFileSync(out, built.bytes);
console.log(
  JSON.stringify({ generation: built?.meta.generation ?? null, journalMessages: built?.journalMessages ?? 0 }),
);
process.exit(0);
