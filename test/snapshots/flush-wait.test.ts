import { describe, expect, it } from 'vitest';
import { FlushWait } from '../../snapshots/flush-wait.js';
import { WriteFailedError } from '../../snapshots/store-write-errors.js';

/**
 * close()'s wait for LMDB's flush (snapshots/flush-wait.ts). lmdb-js's `flushed` is a promise
 * settled by its write thread; these stand for its three outcomes: done, failed (its bare "Commit
 * failed" with the cause on `commitError`, as lmdb-js hands it out), and never (with overlapping
 * sync after a failed commit, and for a commit whose outcome lmdb-js loses). The child-process
 * test with a real capped data file is test/snapshots/close-during-failed-write.test.ts.
 */
describe('FlushWait', () => {
  it('settles with null once the flush is done', async () => {
    await expect(new FlushWait().wait(Promise.resolve(true))).resolves.toBeNull();
  });

  it('settles with null at once for a read-only environment, whose `flushed` lmdb-js leaves undefined', async () => {
    await expect(new FlushWait().wait(undefined)).resolves.toBeNull();
  });

  it("names the cause of lmdb-js's bare commit failure", async () => {
    const cause = Object.assign(new Error('File too large'), { code: 27 });
    const bare = Object.assign(new Error('Commit failed (see commitError for details)'), {
      commitError: Promise.reject(cause),
    });
    const failure = await new FlushWait().wait(Promise.reject(bare));
    expect(failure).toBeInstanceOf(WriteFailedError);
    expect(failure?.message).toBe('File too large (code 27)');
  });

  it('settles with a write failure told while the flush never settles', async () => {
    const wait = new FlushWait();
    const waiting = wait.wait(new Promise<never>(() => undefined));
    const told = new WriteFailedError('No space left on device (code 28)');
    expect(wait.tell(told)).toBe(told);
    await expect(waiting).resolves.toBe(told);
  });

  it('lets a failure told before or after a wait pass by', async () => {
    const wait = new FlushWait();
    wait.tell(new WriteFailedError('before'));
    await expect(wait.wait(Promise.resolve(true))).resolves.toBeNull();
    wait.tell(new WriteFailedError('after'));
    await expect(wait.wait(Promise.resolve(true))).resolves.toBeNull();
  });
});
