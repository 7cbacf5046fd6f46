import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { childReport } from '../helpers/child-report.js';
import { tempDir } from '../helpers/service-process.js';

const CHILD = fileURLToPath(new URL('../helpers/close-during-failed-write.mjs', import.meta.url));

interface Described {
  name: string;
  message: string;
}

interface Outcome {
  settled: 'resolved' | 'rejected' | 'did not settle';
  value?: Described | null;
  err?: Described;
}

/**
 * close() on a store whose writes had all committed waits for LMDB's flush (store-commits.ts);
 * a commit that fails meanwhile (a full disk) must not keep it from settling, nor from closing
 * the environment. Real LMDB file in a child process whose file size is capped. Before: close()
 * rejected with lmdb-js's bare 'Commit failed (see commitError for details)', naming no cause,
 * and left the environment open (its handle's status 'open': close was never asked of it). The
 * append's failure handler, running during close()'s wait, reads nothing (as before).
 */
describe('close() while a write fails', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('resolves with the failure named, closes the environment, and the process exits by itself', async () => {
    const { code, report } = await childReport<{ close: Outcome; status: string; append: Outcome; reads: string[] }>(
      CHILD,
      [dir.path],
    );
    expect(code).toBe(0);
    expect(report.close.settled).toBe('resolved');
    expect(report.close.value?.name).toBe('WriteFailedError');
    expect(report.close.value?.message).toMatch(/File too large.*\(code 27\)/);
    expect(report.status).not.toBe('open');
    expect(report.append.settled).toBe('rejected');
    expect(report.append.err?.name).toBe('WriteFailedError');
    expect(report.append.err?.message).toMatch(/File too large.*\(code 27\)/);
    // The append's failure handler asks LMDB nothing once close() began (store-panic.ts close()).
    expect(report.reads).toEqual([]);
  }, 60_000);
});
