import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { metaWriteFault, panickedOutcome, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-history.mjs', import.meta.url));

type Outcome =
  | { status: number; ids: string[]; total: number | null }
  | { name?: string; code?: string; message: string };

/**
 * MDB_PANIC while a filtered /raw scan holds its journal iterator open across turns (it pauses
 * between slices). The store hears of the panic from the failed append (store-panic.ts reads
 * afresh), but every read of the data file's handle kept answering from the scan's read
 * transaction, begun before the failed commit and reused by lmdb-js while the iterator holds it
 * (the commit moved no txn id): the scan, and /raw and /id asked meanwhile, answered 200 from a
 * file the service had been told failed for good, where the contract is 503 data_file_failed
 * (test/e2e/data-file-panic.test.ts). The store now refuses every read once it knows of the
 * panic (store-guard.ts), so the routes answer 503 and a held scan stops at its next step.
 */
describe('MDB_PANIC while a filtered /raw scan holds its iterator', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('the scan and /raw and /id asked meanwhile are refused with SC_DATA_FILE_PANIC, nothing served from before the fault', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const report = (await reportUnderFault(fault, HELPER, [
      dataDir,
      fault.env['META_WRITE_FAULT_TRIGGER'] as string,
    ])) as Record<string, Outcome | number | string | null>;
    expect(fault.fired()).toBeGreaterThan(0);
    const panicked = panickedOutcome(dataDir);
    expect(report).toEqual({
      // The scan read its first message and was held there, its iterator open, across the fault.
      pausesBeforeFault: 1,
      append: panicked,
      panic: 'SC_DATA_FILE_PANIC',
      rawWhileHeld: panicked,
      idWhileHeld: panicked,
      scan: panicked,
      rawAfter: panicked,
    });
  }, 90_000);
});
