/**
 * The checker child process (store-check-child.ts) run and its end read: a damaged page ends
 * whoever reads it by signal, so the file check and salvage (store-check.ts, quarantine.ts)
 * read the data file in a child and tell damage apart from a child that never ran.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatscacheError } from '../actors/errors.js';
import { DATA_FILE } from './lmdb-store.js';

/** A walk of a multi-GB file takes seconds; past this the checker is taken as hung on a damaged page. */
export const CHILD_TIMEOUT_MS = 600_000;
export function childScript(): string {
  // From dist/ the child sits beside this module; from the TypeScript sources (tests) it is the built copy.
  const beside = fileURLToPath(new URL('./store-check-child.js', import.meta.url));
  return existsSync(beside)
    ? beside
    : fileURLToPath(new URL('../dist/snapshots/store-check-child.js', import.meta.url));
}

export interface ChildOutcome {
  readonly ok: boolean;
  readonly stdout: string;
  readonly problem: string;
  /** False when no checker process could be started (no memory, no process slot): that says nothing of the file. */
  readonly started: boolean;
  /**
   * Ended by a SIGKILL it was not sent by its own timeout: the kernel's OOM killer (which picks
   * the process that has touched the most of a large file) or an operator. That says nothing
   * of the file either: damage ends a reader by SIGBUS or SIGSEGV, a refusal by an exit status.
   */
  readonly killedFromOutside: boolean;
}

/** Errors of a checker that ran: it hung past its time (on a damaged page), or printed past the buffer. */
const RAN = new Set(['ETIMEDOUT', 'ENOBUFS']);

/** How a checker child ended, in the words the error log and the quarantine report use. */
export function childOutcome(r: {
  error?: Error | undefined;
  signal: NodeJS.Signals | null;
  status: number | null;
  stdout: string;
  stderr: string;
  /** The caller's own timer killed it (hung on a damaged page); spawnSync says so as ETIMEDOUT instead. */
  timedOut?: boolean;
}): ChildOutcome {
  const stderr = r.stderr.trim().split('\n').slice(-1)[0] ?? '';
  const ran = { started: true, killedFromOutside: false };
  if (r.error) {
    const started = RAN.has((r.error as NodeJS.ErrnoException).code ?? '');
    return {
      ok: false,
      stdout: r.stdout,
      problem: `checker failed: ${r.error.message}`,
      started,
      killedFromOutside: false,
    };
  }
  if (r.signal === 'SIGKILL' && r.timedOut !== true)
    return {
      ok: false,
      stdout: r.stdout,
      problem: 'the checker was ended by SIGKILL from outside before it finished (out of memory, or an operator)',
      started: true,
      killedFromOutside: true,
    };
  if (r.signal)
    return { ok: false, stdout: r.stdout, problem: `reading it killed the checker with ${r.signal}`, ...ran };
  if (r.status !== 0)
    return { ok: false, stdout: r.stdout, problem: `LMDB refused it: ${stderr || `exit ${r.status}`}`, ...ran };
  return { ok: true, stdout: r.stdout, problem: '', ...ran };
}

/**
 * A checker that could not be started has read nothing: the file is neither known good nor
 * known damaged, so nothing may open, move or salvage it. The start stops (exit 1) and a
 * supervisor's retry finds the resources again.
 */
export function checkerNotStarted(dataDir: string, outcome: ChildOutcome): StatscacheError {
  return new StatscacheError(
    'SC_DATA_FILE_UNCHECKED',
    `could not ${outcome.killedFromOutside ? 'finish' : 'start'} the process that checks ${join(dataDir, DATA_FILE)} before it is opened (${outcome.problem}); nothing was ${outcome.killedFromOutside ? '' : 'read, '}moved or changed. Start again once processes and memory are available`,
  );
}

/** A check that says nothing of the file (no checker started, or one killed from outside): nothing may move it. */
export const checkerUnanswered = (r: ChildOutcome): boolean => !r.started || r.killedFromOutside;

/** Which Node runs the checker children: this one (tests name another to see one fail to start). */
export interface CheckerOptions {
  readonly node?: string;
}

/** Runs one checker child to its end (CHILD_TIMEOUT_MS at most). */
export function runChecker(args: readonly string[], options: CheckerOptions = {}): ChildOutcome {
  const r = spawnSync(options.node ?? process.execPath, [childScript(), ...args], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return childOutcome({ ...r, stdout: r.stdout ?? '', stderr: r.stderr ?? '' });
}
