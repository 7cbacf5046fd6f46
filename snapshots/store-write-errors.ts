/**
 * The data store's write failures: WriteFailedError (a write that did not commit, its cause
 * named by writeFailure), and DataFilePanicError for MDB_PANIC, the data file's LMDB
 * environment failed for good in this process.
 *
 * LMDB commits a transaction by writing its data pages, then one meta page. When that last
 * write fails (a disk failing mid-commit, a file system remounted read-only, a file made
 * immutable between the two writes), mdb_env_write_meta marks the environment
 * MDB_FATAL_ERROR: from then on every transaction of this process, read or write, fails with
 * MDB_PANIC until the environment is closed and opened again. The file itself is whole: its
 * newest meta page still names the previous commit, which a fresh open reads.
 *
 * lmdb-js 3.5.6 reports none of this on the writes themselves: its writer thread fails to begin
 * the next transaction, logs "MDB_PANIC" to stderr and settles no write promise queued since,
 * ever (src/writer.cpp, WriteWorker::Write, returns before marking them), still holding the
 * environment's writing lock, so close() never settles either (it waits on those writes) and
 * an in-process reopen is out of reach. Reads throw "Invalid argument: MDB_PANIC: …". The
 * journal's batches, the snapshot cycle, its trims and the settlement probes all waited for
 * good, with /readyz naming nothing past the first failed commit (test/e2e/data-file-panic.test.ts).
 * The store now tells (StoreCommits.onPanic) and fails every write with DataFilePanicError; the
 * service then ends as when intake dies, for its supervisor to open the file afresh.
 */
import { join } from 'node:path';
import { StatscacheError } from '../actors/errors.js';

/**
 * A write transaction that did not commit (disk full, file size limit, I/O error, map full):
 * nothing of it landed. `cause` is LMDB's own error, which lmdb-js hands out separately.
 */
export class WriteFailedError extends Error {
  override readonly name: string = 'WriteFailedError';
}

/**
 * lmdb-js rejects each write of a failed commit with "Commit failed (see commitError for
 * details)" and rejects a second promise, `error.commitError`, with the cause. Nothing in
 * lmdb-js handles that one (kriszyp/lmdb-js#368), and an unhandled rejection ends a Node
 * process: so every failed write is passed through here, which handles it and names the cause.
 */
export async function writeFailure(err: unknown): Promise<WriteFailedError> {
  const inner = (err as { commitError?: unknown } | null)?.commitError;
  let cause: unknown = err;
  if (inner instanceof Promise)
    cause = await inner.then(
      () => err,
      (e: unknown) => e,
    );
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new WriteFailedError(code === undefined ? text : `${text} (code ${String(code)})`, { cause });
}

/** The code its message starts with (actors/errors.ts ErrorCode). */
export const PANIC_CODE = 'SC_DATA_FILE_PANIC';

/** LMDB's MDB_PANIC (lmdb.h), as lmdb-js hands it to its write callback. */
const MDB_PANIC = -30795;

/** Whether `err` is LMDB's MDB_PANIC (a write's code, or a read's "Invalid argument: MDB_PANIC: …"). */
export function isLmdbPanic(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && e !== undefined && depth < 4; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (code === MDB_PANIC || (typeof message === 'string' && message.includes('MDB_PANIC'))) return true;
    e = cause;
  }
  return false;
}

/**
 * Every write (and the stop's final snapshot) once the data file's environment failed for good:
 * a WriteFailedError, so whatever holds records on a failed write holds them, with the code
 * SC_DATA_FILE_PANIC and the file named. `cause` is the failed commit's own error when known.
 */
export class DataFilePanicError extends WriteFailedError {
  override readonly name: string = 'DataFilePanicError';
  readonly code = 'SC_DATA_FILE_PANIC' as const;
  /** The data file, as its path. */
  readonly file: string;

  constructor(file: string, cause: unknown) {
    // Heard of first from a later read or write (the pending-write probe, a read under way), the cause is
    // LMDB's bare "Invalid argument: MDB_PANIC: …": it names no file and says nothing this message
    // does not, so it is not quoted (it stays the error's `cause`).
    const text = isLmdbPanic(cause)
      ? 'found when LMDB refused a later read or write'
      : cause instanceof Error
        ? cause.message
        : String(cause);
    super(
      `${PANIC_CODE}: the data file ${file} failed for good in this process: a commit's last write (its meta page) failed (${text}), and LMDB now refuses every read and write of it (MDB_PANIC) until a process opens it again; it still holds every commit before that one`,
      { cause },
    );
    this.file = file;
  }
}

/**
 * A WriteFailedError told to an operator (a command's exit, `snapshot take`'s answer):
 * SC_DATA_FILE_WRITE_FAILED naming the data file (`file`: lmdb-store.ts DATA_FILE in `dataDir`),
 * LMDB's cause and `left`, what the failed write left; null for any other error. The bare error
 * named neither the data dir nor what was left of it. A DataFilePanicError (MDB_PANIC) is told
 * as SC_DATA_FILE_PANIC, with `panicLeft` in place of `left` when given: no later write of this
 * process can succeed.
 */
export function dataFileWriteFailed(
  dataDir: string,
  file: string,
  err: unknown,
  left: string,
  panicLeft: string = left,
): StatscacheError | null {
  if (err instanceof DataFilePanicError)
    return new StatscacheError('SC_DATA_FILE_PANIC', `${err.message.slice(PANIC_CODE.length + 2)}: ${panicLeft}`, {
      cause: err,
    });
  if (!(err instanceof WriteFailedError)) return null;
  return new StatscacheError(
    'SC_DATA_FILE_WRITE_FAILED',
    `could not write the data file ${join(dataDir, file)} (${err.message}): ${left}`,
    { cause: err },
  );
}
