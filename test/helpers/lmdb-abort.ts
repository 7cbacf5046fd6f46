import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * lmdb-js 3.5.6 may overrun its heap on a page write the file refused (README, runbook "Disk
 * full"); glibc then aborts the process at some later malloc, 'malloc(): invalid next size'
 * or 'corrupted size vs. prev_size', which can be after the file takes writes again. A test that
 * refuses writes sees that as a request failing ("other side closed") wherever it lands.
 *
 * A refusal that lands mid-commit, after its data pages and before its meta page (chattr +i
 * between the two), leaves LMDB's environment failed for good (MDB_PANIC): the service then
 * stops, /healthz failing with SC_DATA_FILE_PANIC, and exits 1 (README, runbook "Disk full").
 * A test of what a refusing file does while the service serves cannot go on past either.
 */

/** Whether the child ended on SIGABRT, waiting up to `withinMs` for an exit that is under way. */
export async function abortedByLmdb(child: ChildProcess, withinMs = 3_000): Promise<boolean> {
  return (await ended(child, withinMs)) && child.signalCode === 'SIGABRT';
}

/** The service's fatal line for a data file that failed for good (src/service-start.ts die(), store-write-errors.ts). */
const isPanicLine = (line: string) =>
  line.includes('"msg":"intake stopped; /healthz now fails"') && line.includes('SC_DATA_FILE_PANIC');

/**
 * Whether the service stopped for its data file's MDB_PANIC: exited 1 having logged it as its
 * fatal reason. Waits up to `withinMs` for the process to end and its stdout to be read out.
 */
export async function panickedByLmdb(
  svc: { readonly child: ChildProcess; readonly logs: readonly string[] },
  withinMs = 3_000,
): Promise<boolean> {
  return (await ended(svc.child, withinMs)) && svc.child.exitCode === 1 && svc.logs.some(isPanicLine);
}

/** Whether the child has ended and its stdio closed ('close': every line logged is read), waiting up to `withinMs`. */
async function ended(child: ChildProcess, withinMs: number): Promise<boolean> {
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  if (gone() && (child.stdout === null || child.stdout.readableEnded)) return true;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, withinMs);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return gone();
}

/** What ended a run that the caller takes for a retry on a fresh data dir, with its cause. */
export type LmdbEnd = 'aborted' | 'panicked';

/** Each LmdbEnd told, for a test's failure message. */
export const LMDB_END_CAUSE: Readonly<Record<LmdbEnd, string>> = {
  aborted: 'lmdb-js aborted the process on a failed page write (SIGABRT, its heap overrun: its known defect)',
  panicked:
    'the refusal landed mid-commit, between its data pages and its meta page: MDB_PANIC, the service stopped with SC_DATA_FILE_PANIC and exit 1',
};

/**
 * Runs `body`; a failure of a child that aborted is 'aborted', and of a service that stopped
 * for MDB_PANIC 'panicked' (for the caller to retry on a fresh data dir); any other failure is
 * thrown as it came.
 */
export async function unlessLmdbEnded<T>(
  svc: { readonly child: ChildProcess; readonly logs: readonly string[] },
  body: () => Promise<T>,
): Promise<T | LmdbEnd> {
  try {
    return await body();
  } catch (err) {
    if (await abortedByLmdb(svc.child)) return 'aborted';
    if (await panickedByLmdb(svc)) return 'panicked';
    throw err;
  }
}

/**
 * Runs `run(attempt)` for attempt 1, 2, … while it ends in an LmdbEnd, at most `attempts` times;
 * when none gets through, fails naming each run's cause (so a change that makes either end the
 * rule is seen, not skipped).
 */
export async function retryingLmdbEnds(
  attempts: number,
  run: (attempt: number) => Promise<'done' | LmdbEnd>,
): Promise<void> {
  const ends: LmdbEnd[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const outcome = await run(attempt);
    if (outcome === 'done') return;
    ends.push(outcome);
  }
  throw new Error(
    `each of ${attempts} runs ended before its checks: ${ends.map((e, i) => `run ${i + 1}: ${LMDB_END_CAUSE[e]}`).join('; ')}`,
  );
}

/**
 * The last stdout line of `node helper …args(attempt)`, parsed: a helper child that refuses
 * LMDB writes to itself and reports as JSON. A child ended by lmdb-js's heap overrun (SIGABRT)
 * is run again with the next attempt's arguments (a fresh seed), at most `attempts` times.
 */
export async function helperReport<T>(
  helper: string,
  args: (attempt: number) => string[],
  timeoutMs: number,
  attempts = 3,
): Promise<T> {
  let report: T | undefined;
  await retryingLmdbEnds(attempts, async (attempt) => {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [helper, ...args(attempt)], {
        timeout: timeoutMs,
      });
      report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as T;
      return 'done';
    } catch (err) {
      if ((err as { signal?: unknown }).signal === 'SIGABRT') return 'aborted';
      throw err;
    }
  });
  if (report === undefined) throw new Error(`${helper} reported nothing`);
  return report;
}
