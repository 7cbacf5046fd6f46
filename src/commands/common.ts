import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf, isStatscacheError } from '../../actors/errors.js';
import { lockDataDir, unwritableDataDir, type DataDirLock } from '../../snapshots/data-dir-lock.js';
import { DATA_FILE, DataStore, dataFileWriteFailed } from '../../snapshots/lmdb-store.js';
import { QUARANTINE_DIR, quarantineAndSalvage } from '../../snapshots/quarantine.js';
import { checkDataFile } from '../../snapshots/store-check.js';
import { loadConfig, type Config } from '../config.js';

/** An operator mistake or a refused operation: printed as one line, no stack, with this exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CommandIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Options every offline command takes. */
export interface DataDirOptions {
  readonly dataDir?: string;
  readonly config?: string;
}

/** The same precedence as `serve`: defaults < config file < environment < flags. */
export function commandConfig(opts: DataDirOptions, flags: Record<string, unknown> = {}): Config {
  return loadConfig({ flags: { dataDir: opts.dataDir, ...flags }, env: process.env, file: opts.config });
}

/**
 * Opens the data dir's LMDB store after checking the file in a child process (a damaged file
 * would end this one by a signal). Read-only opens never create or move anything: a damaged
 * file is reported and left as it is. A writer (which holds the data dir lock) quarantines it
 * and continues on what could be salvaged, and says so on stderr.
 */
export function openStore(
  dataDir: string,
  options: { readOnly: boolean; mustExist?: boolean; io?: CommandIO },
): DataStore {
  const file = join(dataDir, DATA_FILE);
  if ((options.readOnly || options.mustExist) && !existsSync(file)) {
    throw new CommandError(`no statscache data in ${dataDir} (expected ${file}); pass --data-dir`);
  }
  const check = checkDataFile(dataDir, { write: !options.readOnly });
  if (!check.ok) {
    if (options.readOnly) {
      throw new CommandError(
        `the data file ${file} is damaged (${check.problem}); nothing was changed. \`statscache serve\` or \`statscache journal replay\` on this data dir moves it to ${join(dataDir, QUARANTINE_DIR)}/ and keeps what is still readable`,
      );
    }
    const report = quarantineAndSalvage(dataDir, check.problem, Date.now());
    options.io?.err(
      `statscache: error: the data file ${file} is damaged (${check.problem}); moved to ${report.quarantinedTo}; salvaged ${Object.keys(report.slots).length} snapshot slots and ${report.journal.records} journal records${report.lost.length > 0 ? `; lost: ${report.lost.join('; ')}` : ''}\n`,
    );
  }
  try {
    return new DataStore(dataDir, { readOnly: options.readOnly });
  } catch (err) {
    throw unwritableDataDir(dataDir, err) ?? err;
  }
}

/**
 * Writers take the data dir lock for as long as they write: a live service (or another
 * writer) makes them fail with SC_DATA_DIR_LOCKED naming its pid (exit 2). The lock, not the
 * pid file, decides: it cannot be stale. `--force` is accepted as before but cannot override it.
 */
export function lockForCommand(dataDir: string, what: string, options: { mustExist?: boolean } = {}): DataDirLock {
  // Checked before locking, which would create the folder a mistyped --data-dir names.
  if (options.mustExist && !existsSync(join(dataDir, DATA_FILE)))
    throw new CommandError(`no statscache data in ${dataDir} (expected ${join(dataDir, DATA_FILE)}); pass --data-dir`);
  return lockDataDir(dataDir, what);
}

/**
 * A writer command's one write transaction (all of it lands, or none). Its commit refused by the
 * file (full disk, file size limit, a file system remounted read-only, an immutable file) is
 * SC_DATA_FILE_WRITE_FAILED naming the file and LMDB's cause (exit 1: it may pass), instead of a
 * bare WriteFailedError stack that named neither the data dir nor what was left of it. The
 * write's outcome is always reported: the store settles from the file a write lmdb-js never
 * reports on (StoreCommits.settled), so this waits on nothing more.
 */
export async function writeOrFail<T>(dataDir: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw (
      dataFileWriteFailed(dataDir, DATA_FILE, err, `nothing of this ${what} was written; the data dir is as it was`) ??
      err
    );
  }
}

/**
 * Closes a command's store and its lock. A write failing while the store closes (store-commits.ts
 * close(), which says which one rather than rejecting) fails the command, as the rejection did.
 */
export async function closeStoreAndLock(store: DataStore, lock: DataDirLock): Promise<void> {
  const unflushed = await store.close();
  lock.release();
  if (unflushed !== null) throw unflushed;
}

/** Runs a command body and turns expected failures into one line on stderr and an exit code. */
export async function runCommand(io: CommandIO, body: () => Promise<number | void> | number | void): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof CommandError) {
      io.err(`statscache: ${err.message}\n`);
      return err.exitCode;
    }
    if (isStatscacheError(err)) {
      io.err(`statscache: ${err.message}\n`);
      return exitCodeOf(err);
    }
    throw err;
  }
}

export const isoTime = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
