import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `<data dir>/statscache.pid`: which process serves this data dir, for operators and scripts.
 * Only the holder of the data dir lock (data-dir-lock.ts) writes it and removes it on stop, so
 * a refused second instance never touches it. After a crash the file stays, naming a dead pid;
 * the lock, not this file, decides who may write.
 */
export const PID_FILE = 'statscache.pid';

export function writePidFile(dataDir: string): void {
  writeFileSync(join(dataDir, PID_FILE), `${process.pid}\n`);
}

/** Removes the file if it is still ours; called by the lock holder before it releases the lock. */
export function removePidFile(dataDir: string): void {
  if (readPid(dataDir) === process.pid) rmSync(join(dataDir, PID_FILE), { force: true });
}

/** The pid the file names, or null (absent, unreadable, not a pid). */
export function readPid(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
