/**
 * `GET /admin/export`'s child process: reads the newest good generation and the journal tail
 * from its own read-only view of the data file and writes them to stdout as an export file
 * (snapshot-export.ts) behind the generation's number (4 bytes, little-endian), or nothing when
 * no generation is readable. On the main thread the read
 * and encode held the event loop throughout: 3.7 s for a 19 MB state, and tens of seconds for a
 * production-sized one while a peer bootstraps. A process, not a worker thread: a worker that
 * opened and closed the data file beside the service's own handle crashed the process (SIGSEGV)
 * at the next export.
 *
 *   export-child.js <dataDir> <tailSeconds>
 */
import { writeSync } from 'node:fs';
import { Journal } from '../snapshots/journal.js';
import { DataStore } from '../snapshots/lmdb-store.js';
import { buildExport } from './commands/snapshot-export.js';

const [dataDir, tail] = process.argv.slice(2);
if (dataDir === undefined || tail === undefined) {
  process.stderr.write('usage: export-child.js <dataDir> <tailSeconds>\n');
  process.exit(64);
}
const store = new DataStore(dataDir, { readOnly: true });
const built = buildExport(
  store,
  new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined }),
  Number(tail),
).export;
if (built !== null) {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(built.meta.generation, 0);
  // Synchronous, whole: the parent reads until this process exits.
  for (const bytes of [head, built.bytes]) for (let at = 0; at < bytes.byteLength; ) at += writeSync(1, bytes, at);
}
// The journal's id index keeps timers of its own: nothing more is to be done here.
process.exit(0);
