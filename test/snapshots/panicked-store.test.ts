import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { metaWriteFault, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-store.mjs', import.meta.url));

type Outcome = 'ok' | 'never settled' | { name?: string; code?: string; message: string };

interface Report {
  before: Outcome;
  refused: Outcome[];
  append: Outcome;
  snapshot: Outcome;
  trim: Outcome;
  read: Outcome | { other: string };
  lookup: Outcome | 'duplicate' | 'accepted';
  failedForGood: string | null;
  panics: string[];
  close: Outcome;
}

/**
 * The data store on a file whose commit failed at its meta-page write (helpers/meta-write-fault.c,
 * in a child process: LD_PRELOAD applies from a process's start). LMDB then fails every
 * transaction with MDB_PANIC and lmdb-js settles no write queued since: the journal appends
 * queued with the failed one, and every later append, snapshot and trim, stayed pending for
 * good (the service's journal, snapshot cycle and stop waited on them), and reads threw
 * "Invalid argument: MDB_PANIC" naming no file. Each now fails with SC_DATA_FILE_PANIC naming
 * the data file, a read's error maps to it (the journal's id lookup too), the store's listener
 * hears it once, and close() settles.
 */
describe('a data store whose environment failed for good (MDB_PANIC)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('fails every write and read with SC_DATA_FILE_PANIC naming the file, and tells once', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const file = join(dataDir, 'statscache.lmdb');
    const report = (await reportUnderFault(fault, HELPER, [
      dataDir,
      fault.env['META_WRITE_FAULT_TRIGGER'] as string,
    ])) as Report;
    expect(fault.fired()).toBeGreaterThan(0);
    expect(report.before).toBe('ok');
    const panic = {
      name: 'DataFilePanicError',
      code: 'SC_DATA_FILE_PANIC',
      message: expect.stringMatching(
        new RegExp(
          `^SC_DATA_FILE_PANIC: the data file ${file.replaceAll('.', '\\.')} failed for good .*\\(MDB_PANIC\\)`,
        ),
      ),
    };
    // Queued together: some may share the failed commit; every one fails, none hangs.
    expect(report.refused).toEqual([panic, panic, panic, panic]);
    expect(report.append).toEqual(panic);
    expect(report.snapshot).toEqual(panic);
    expect(report.trim).toEqual(panic);
    expect(report.read).toEqual({ code: panic.code, message: panic.message });
    // The journal's de-duplication lookup (the AMQP intake's, before the id filter is built)
    // threw LMDB's bare "Invalid argument: MDB_PANIC", which the AMQP intake acked as unjournaled.
    expect(report.lookup).toEqual(panic);
    expect(report.failedForGood).toBe(panic.code);
    expect(report.panics).toHaveLength(1);
    expect(report.close).toBe('ok');
  }, 120_000);
});
