import type { ChildProcess } from 'node:child_process';

/**
 * lmdb-js 3.5.6 may overrun its heap on a page write the file refused (README, runbook "Disk
 * full"); glibc then aborts the process at some later malloc, 'malloc(): invalid next size'
 * or 'corrupted size vs. prev_size', which can be after the file takes writes again. A test that
 * refuses writes sees that as a request failing ("other side closed") wherever it lands.
 */

/** Whether the child ended on SIGABRT, waiting up to `withinMs` for an exit that is under way. */
export async function abortedByLmdb(child: ChildProcess, withinMs = 3_000): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode === 'SIGABRT';
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), withinMs);
    child.once('exit', (_code, sig) => {
      clearTimeout(timer);
      resolve(sig);
    });
  });
  return signal === 'SIGABRT';
}

/**
 * Runs `body`; a failure of a child that aborted is 'aborted' (for the caller to retry on a fresh
 * data dir), any other failure is thrown as it came.
 */
export async function unlessLmdbAborted<T>(child: ChildProcess, body: () => Promise<T>): Promise<T | 'aborted'> {
  try {
    return await body();
  } catch (err) {
    if (await abortedByLmdb(child)) return 'aborted';
    throw err;
  }
}
