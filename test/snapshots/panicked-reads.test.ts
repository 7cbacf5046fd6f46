import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { metaWriteFault, panickedOutcome, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-reads.mjs', import.meta.url));

/**
 * MDB_PANIC while a journal iterator holds its read transaction open (the start-up replay's,
 * left after its first entry). The store hears of the panic from the failed append
 * (store-panic.ts reads afresh), but lmdb-js answered every read of the data file's handle from
 * the held transaction, begun before the failed commit and reused as current (the commit moved
 * no txn id): seen() said a stored id was stored and a new one new, a duplicate was refused as
 * one, /id's lookups and the held iterator served records, all from before the failure. The
 * store now refuses every read once it knows (store-guard.ts), and seen() refuses outright. The
 * file check's walk (run in read-only checker children, which cannot panic, but a read like any
 * other) first read the database names unguarded: from the held transaction, or with LMDB's
 * bare MDB_PANIC once it was let go.
 */
describe('MDB_PANIC while a journal iterator holds its read transaction', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('every kind of read, and the held iterator, are refused with SC_DATA_FILE_PANIC', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const report = await reportUnderFault(fault, HELPER, [dataDir, fault.env['META_WRITE_FAULT_TRIGGER'] as string]);
    expect(fault.fired()).toBeGreaterThan(0);
    const panicked = panickedOutcome(dataDir);
    expect(report).toEqual({
      first: 1,
      append: panicked,
      panic: 'SC_DATA_FILE_PANIC',
      seenStored: panicked,
      seenNew: panicked,
      acceptDuplicate: panicked,
      get: panicked,
      getById: panicked,
      entries: panicked,
      slots: panicked,
      walkHeld: panicked,
      heldNext: panicked,
      freshAfter: panicked,
      walk: panicked,
      occupiedSlots: panicked,
    });
  }, 90_000);
});
