import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `<data dir>/statscache.pid`: written by a service when it opens a data dir, removed when it
 * stops, so offline tools (snapshot import, journal replay) can refuse to write under a live
 * service. After a crash the file stays; a pid that no longer runs is treated as stale.
 */
export const PID_FILE = 'statscache.pid';

export function writePidFile(dataDir: string): void {
  writeFileSync(join(dataDir, PID_FILE), `${process.pid}\n`);
}

/** Removes the file if it is still ours (another process may have taken the dir over). */
export function removePidFile(dataDir: string): void {
  if (readPid(dataDir) === process.pid) rmSync(join(dataDir, PID_FILE), { force: true });
}

/** The pid of a live process (other than this one) holding the data dir, or null. */
export function runningService(dataDir: string): number | null {
  const pid = readPid(dataDir);
  if (pid === null || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else, which still means running.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

function readPid(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
