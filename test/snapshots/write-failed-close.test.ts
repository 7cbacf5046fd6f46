import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { childReport } from '../helpers/child-report.js';
import { tempDir } from '../helpers/service-process.js';

const CHILD = fileURLToPath(new URL('../helpers/write-failed-close.mjs', import.meta.url));

interface Report {
  first: { name: string; message: string } | null;
  second: { name: string; message: string } | null;
  reads: string[];
  started: string[][];
}

/**
 * close() on a store whose last commit failed returns at once, closing its handles without
 * waiting (store-commits.ts); a write failing after that still rejects, naming LMDB's cause,
 * and its failure handler asks LMDB nothing more (store-panic.ts close()). Real LMDB file in a
 * child process whose file size is capped, as on a full disk. Before that, the late failure's
 * check read the data file (reads: ['refused: Can not renew a transaction from a closed
 * database']: lmdb-js 3.5.6 refused it, the handle closed already, starting no timer).
 */
describe('a write that fails after close() returned', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('rejects as a WriteFailedError naming EFBIG, reads nothing, starts nothing, and the process exits by itself', async () => {
    const { code, report } = await childReport<Report>(CHILD, [dir.path]);
    expect(code).toBe(0);
    for (const failure of [report.first, report.second]) {
      expect(failure?.name).toBe('WriteFailedError');
      expect(failure?.message).toMatch(/File too large.*\(code 27\)/);
    }
    expect(report.reads).toEqual([]);
    expect(report.started).toEqual([]);
  }, 30_000);
});
