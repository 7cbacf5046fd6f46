import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { metaWriteFault, panickedOutcome, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-iterating.mjs', import.meta.url));

/**
 * MDB_PANIC while a read of the journal is under way (the start-up replay's iterator): the store
 * asks LMDB whether the environment failed for good with a read, and lmdb-js answered that read
 * from the iterator's open transaction, begun before the failed commit and reused as current
 * (the commit moved no txn id), so the failed append was told as a plain write failure and the
 * service went on. The question is now asked in a read transaction of its own (store-panic.ts),
 * whatever is being read meanwhile. The deterministic twin of test/e2e/data-file-panic-start.
 */
describe('MDB_PANIC while a journal read holds its transaction open', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('is told as SC_DATA_FILE_PANIC naming the file, not as a write that may be tried again', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const report = (await reportUnderFault(fault, HELPER, [
      dataDir,
      fault.env['META_WRITE_FAULT_TRIGGER'] as string,
    ])) as {
      first: number;
      append: { name?: string; code?: string; message: string } | string;
      panic: string | null;
    };
    expect(fault.fired()).toBeGreaterThan(0);
    expect(report.first).toBe(1);
    expect(report).toEqual({
      first: 1,
      append: panickedOutcome(dataDir),
      panic: 'SC_DATA_FILE_PANIC',
    });
  }, 90_000);
});
