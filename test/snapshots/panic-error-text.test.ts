import { describe, expect, it } from 'vitest';
import { DataFilePanicError } from '../../snapshots/store-write-errors.js';

const FILE = '/data/statscache.lmdb';

/**
 * What SC_DATA_FILE_PANIC says of its cause. The failed commit's own error is quoted (an
 * operator's clue: EIO, ENOSPC…). When the store first heard of the failure from a later read
 * (the pending-write probe, or a read under way), that read's error is LMDB's bare "Invalid
 * argument: MDB_PANIC: …", which names no file and says nothing the message does not: quoted,
 * it put that text in the fatal line (test/e2e/data-file-panic-start failed on it under load).
 */
describe('the SC_DATA_FILE_PANIC message', () => {
  it("quotes the failed commit's own error", () => {
    const err = new DataFilePanicError(FILE, Object.assign(new Error('Input/output error'), { code: 5 }));
    expect(err.message).toContain(`the data file ${FILE} failed for good`);
    expect(err.message).toContain("a commit's last write (its meta page) failed (Input/output error)");
  });

  it("does not quote LMDB's bare MDB_PANIC read error, and says how the failure was found", () => {
    const read = new Error('Invalid argument: MDB_PANIC: Update of meta page failed or environment had fatal error');
    const err = new DataFilePanicError(FILE, read);
    expect(err.message).not.toContain('Invalid argument');
    expect(err.message).toContain(
      "a commit's last write (its meta page) failed (found when LMDB refused a later read or write)",
    );
    // The error itself is kept as the cause, for a stack or a debugger.
    expect(err.cause).toBe(read);
  });
});
