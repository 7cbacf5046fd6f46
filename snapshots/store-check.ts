/**
 * Checks the LMDB data file in a child process before this process maps it: a truncated file
 * or damaged pages end whoever reads them by SIGBUS/SIGSEGV, with nothing logged. A damaged
 * file is moved to `<data dir>/quarantine/<time>/` and what can still be read (snapshot slot by
 * slot, the journal record by record) is copied into a fresh file in its place (quarantine.ts);
 * restore then falls back to the newest complete generation and replays the journal as usual.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkerNotStarted, type CheckerOptions, checkerUnanswered, runChecker } from './checker-process.js';
import { unwritableDataDir } from './data-dir-lock.js';
import { DATA_FILE, DATA_LOCK_FILE } from './lmdb-store.js';

export type CheckResult =
  | { readonly ok: true; readonly counts: Record<string, number>; readonly ms: number }
  | { readonly ok: false; readonly problem: string; readonly ms: number };

/**
 * A file this user may not open is not damaged, and must never be quarantined: throws
 * SC_DATA_DIR_UNWRITABLE. LMDB writes its lock file even for readers.
 */
export function checkAccess(dataDir: string, write: boolean): void {
  for (const name of [DATA_FILE, DATA_LOCK_FILE]) {
    const path = join(dataDir, name);
    const mode = name === DATA_LOCK_FILE || write ? constants.R_OK | constants.W_OK : constants.R_OK;
    try {
      if (existsSync(path)) accessSync(path, mode);
    } catch (err) {
      throw unwritableDataDir(dataDir, err) ?? err;
    }
  }
}

/**
 * Opens and walks every database of the data file in a child; a missing file is fine (a new
 * data dir). Permissions are checked first (checkAccess).
 */
export function checkDataFile(dataDir: string, options: { write: boolean } & CheckerOptions): CheckResult {
  const started = performance.now();
  if (!existsSync(join(dataDir, DATA_FILE))) return { ok: true, counts: {}, ms: 0 };
  checkAccess(dataDir, options.write);
  const r = runChecker(['check', dataDir], options);
  if (checkerUnanswered(r)) throw checkerNotStarted(dataDir, r);
  const ms = performance.now() - started;
  if (!r.ok) return { ok: false, problem: r.problem, ms };
  try {
    return { ok: true, counts: JSON.parse(r.stdout) as Record<string, number>, ms };
  } catch {
    return { ok: false, problem: `the checker answered ${JSON.stringify(r.stdout.slice(0, 200))}`, ms };
  }
}
