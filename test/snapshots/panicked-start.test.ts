import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixtures.js';
import { metaWriteFault, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-start.mjs', import.meta.url));

type Outcome = 'ok' | 'never settled' | { name?: string; code?: string; message: string };

/**
 * A start on a data file whose environment already failed for good in this process (MDB_PANIC:
 * a commit failed at its meta-page write before the start, helpers/meta-write-fault.c in a
 * child process). The start's journal replay reads the file, and LMDB's bare read error
 * ("Invalid argument: MDB_PANIC: …", naming no file) was what start() failed with: the CLI
 * printed its stack. It now fails with SC_DATA_FILE_PANIC naming the file and what to do (exit
 * 1: the supervisor's restart opens the file afresh; nothing journaled is lost).
 */
describe('a start on a data file that failed for good (MDB_PANIC)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("fails with SC_DATA_FILE_PANIC naming the file, never LMDB's bare read error", async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const file = join(dataDir, 'statscache.lmdb');
    const r = (await reportUnderFault(fault, HELPER, [
      dataDir,
      fault.env['META_WRITE_FAULT_TRIGGER'] as string,
      `${FIXTURES}fedmsg/samples.jsonl`,
    ])) as Record<string, Outcome | string[]>;
    expect(fault.fired()).toBeGreaterThan(0);
    expect(r['firstSettled']).toBe('ok');
    expect(r['firstClose']).toBe('ok');
    expect(r['snapshot']).toMatchObject({ name: 'DataFilePanicError', code: 'SC_DATA_FILE_PANIC' });
    const start = r['start'] as { name?: string; code?: string; message: string };
    expect(start).toMatchObject({ name: 'StatscacheError', code: 'SC_DATA_FILE_PANIC' });
    expect(start.message).toMatch(
      new RegExp(
        `^SC_DATA_FILE_PANIC: the data file ${file.replaceAll('.', '\\.')} failed for good in this process: .*\\(MDB_PANIC\\)`,
      ),
    );
    expect(start.message).toContain(
      'the start stops and exits 1 for its supervisor, whose restart opens the file afresh: nothing journaled is lost',
    );
    expect(r['close']).toBe('ok');
  }, 120_000);
});
