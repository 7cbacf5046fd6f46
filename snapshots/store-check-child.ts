/**
 * Run as a child process by checker-process.ts, never imported: reading a damaged LMDB file can
 * end a process by SIGBUS or SIGSEGV, which no try/catch survives. The parent only learns
 * from this process's exit and its stdout lines.
 *
 *   check <dir>                          every record of every database; prints the counts as JSON
 *   stream-slot <dir> <part> <parts>     share <part> of the newest snapshot slot's entries, as slot-stream.ts frames
 *   check-rest <dir>                     every record but that slot's entries; prints {slot, counts}
 *   occupied-slots <dir>                 `opened`, then the slots holding any snapshot record as a JSON array
 *   salvage-slot <dir> <target> <slot>   copies one snapshot slot into <target>'s store
 *   salvage-journal <dir> <target> <after>  copies journal records with seq > after
 *   reindex <target>                     rebuilds the journal's id and time indexes
 *
 * Salvage commits every CHUNK records and prints `copied <n> <last key as JSON>` after each
 * commit, so a death mid-way keeps, and reports, what was copied.
 */
import { writeSync } from 'node:fs';
import { decodeChecked } from './codec.js';
import { DataStore } from './lmdb-store.js';
import { slotCandidates } from './restore.js';
import { streamSlot } from './slot-stream.js';

const CHUNK = 500;

function salvage(dir: string, target: string, what: { slot: number } | { journalAfter: number }): void {
  const from = new DataStore(dir, { readOnly: true });
  // Tells the parent the file opens at all: if not, no other salvage run can do better.
  process.stdout.write('opened\n');
  const to = new DataStore(target);
  let batch: { key: unknown; value: Uint8Array }[] = [];
  let copied = 0;
  const commit = () => {
    const last = batch[batch.length - 1];
    if (!last) return;
    to.putSalvaged('slot' in what ? 'snapshot' : 'journal', batch);
    copied += batch.length;
    process.stdout.write(`copied ${copied} ${JSON.stringify(last.key)}\n`);
    batch = [];
  };
  let first = true;
  for (const record of from.salvageRange(what)) {
    if (first) process.stdout.write(`first ${JSON.stringify(record.key)}\n`);
    first = false;
    // Copied out of LMDB's map: the read transaction may move on before the write.
    batch.push({ key: record.key, value: Uint8Array.from(record.value) });
    if (batch.length >= CHUNK) commit();
  }
  commit();
  process.stdout.write(`done ${copied}\n`);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Written before the process exits (process.stdout may queue a large write and lose it at exit). */
function writeAll(bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) {
    try {
      at += writeSync(1, bytes, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function indexOf(value: Uint8Array): { id: string; timestamp: number } | null {
  try {
    const { id, envelope } = decodeChecked(value) as { id: string; envelope: { timestamp: number } };
    return typeof id === 'string' && typeof envelope?.timestamp === 'number'
      ? { id, timestamp: envelope.timestamp }
      : null;
  } catch {
    return null;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, dir, target, arg] = argv;
  if (command === 'check' && dir) {
    const store = new DataStore(dir, { readOnly: true });
    process.stdout.write(`${JSON.stringify(store.walk())}\n`);
    return;
  }
  if (command === 'stream-slot' && dir && target && arg) {
    const store = new DataStore(dir, { readOnly: true });
    const newest = slotCandidates(store).candidates[0];
    if (newest) {
      // The meta's entry counts place the cuts, so the slot is not counted first (lmdb-store.ts, slotCuts).
      const sizes = Object.fromEntries(Object.entries(newest.meta.plugins).map(([ident, p]) => [ident, p.entries]));
      const share = { part: Number(target), parts: Number(arg), sizes };
      streamSlot(store, { slot: newest.slot, generation: newest.meta.generation }, share, writeAll);
    }
    return;
  }
  if (command === 'check-rest' && dir) {
    const store = new DataStore(dir, { readOnly: true });
    // The same choice stream-slot makes: its entries are the ones that child reads.
    const slot = slotCandidates(store).candidates[0]?.slot ?? null;
    const counts = store.walk(slot === null ? {} : { skipEntriesOf: slot });
    writeAll(Buffer.from(`${JSON.stringify({ slot, counts })}\n`));
    return;
  }
  if (command === 'occupied-slots' && dir) {
    const store = new DataStore(dir, { readOnly: true });
    // As salvage says it: a file that does not open needs no salvage child to say so again.
    process.stdout.write('opened\n');
    process.stdout.write(`${JSON.stringify(store.occupiedSlots())}\n`);
    return;
  }
  if (command === 'salvage-slot' && dir && target && arg) return salvage(dir, target, { slot: Number(arg) });
  if (command === 'salvage-journal' && dir && target && arg) return salvage(dir, target, { journalAfter: Number(arg) });
  if (command === 'reindex' && dir) {
    const store = new DataStore(dir);
    const n = await store.reindexJournal(indexOf);
    await store.close();
    process.stdout.write(`done ${n}\n`);
    return;
  }
  process.stderr.write(
    `usage: store-check-child check|stream-slot|check-rest|occupied-slots|salvage-slot|salvage-journal|reindex …\n`,
  );
  process.exitCode = 64;
}

main(process.argv.slice(2)).then(
  // Exit at once: closing a damaged environment could itself fault, after the answer is out.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
