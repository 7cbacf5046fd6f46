/**
 * Checks the LMDB data file in a child process before this process maps it: a truncated file
 * or damaged pages end whoever reads them by SIGBUS/SIGSEGV, with nothing logged. A damaged
 * file is moved to `<data dir>/quarantine/<time>/` and what can still be read (snapshot slot by
 * slot, the journal record by record) is copied into a fresh file in its place; restore then
 * falls back to the newest complete generation and replays the journal as usual.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatscacheError } from '../actors/errors.js';
import { unwritableDataDir } from './data-dir-lock.js';
import { DATA_FILE, DATA_LOCK_FILE, MAX_SLOTS } from './lmdb-store.js';

/** A walk of a multi-GB file takes seconds; past this the checker is taken as hung on a damaged page. */
export const CHILD_TIMEOUT_MS = 600_000;
/** Journal salvage restarts past a bad page this many times, skipping further each time. */
const JOURNAL_RETRIES = 6;

export type CheckResult =
  | { readonly ok: true; readonly counts: Record<string, number>; readonly ms: number }
  | { readonly ok: false; readonly problem: string; readonly ms: number };

export interface SalvageReport {
  readonly file: string;
  readonly problem: string;
  readonly quarantinedTo: string;
  /** Per slot that held anything: records copied, and whether the copy reached the slot's end. */
  readonly slots: Record<number, { records: number; complete: boolean }>;
  readonly journal: { records: number; lastSeq: number; complete: boolean; skippedAfter: number[] };
  /** What was lost, in words, for the error log and the operator. */
  readonly lost: string[];
}

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

function runChecker(args: readonly string[], options: CheckerOptions = {}): ChildOutcome {
  const r = spawnSync(options.node ?? process.execPath, [childScript(), ...args], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return childOutcome({ ...r, stdout: r.stdout ?? '', stderr: r.stderr ?? '' });
}

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

/** The last `copied <n> <key>` line of a salvage child: how far it got before it ended. */
function progress(stdout: string): {
  opened: boolean;
  records: number;
  firstKey: unknown;
  lastKey: unknown;
  done: boolean;
} {
  let records = 0;
  let firstKey: unknown = null;
  let lastKey: unknown = null;
  let done = false;
  let opened = false;
  for (const line of stdout.split('\n')) {
    const m = /^copied (\d+) (.*)$/.exec(line);
    if (m) {
      records = Number(m[1]);
      lastKey = JSON.parse(m[2] ?? 'null');
    } else if (line.startsWith('first ')) firstKey = JSON.parse(line.slice(6));
    else if (line.startsWith('done ')) done = true;
    else if (line === 'opened') opened = true;
  }
  return { opened, records, firstKey, lastKey, done };
}

/** `<data dir>/quarantine/<time>/`: where a damaged data file is moved aside, kept for an operator. */
export const QUARANTINE_DIR = 'quarantine';

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');

/**
 * The quarantine folders present in the data dir (`<data dir>/quarantine/<time>/`, oldest first),
 * whichever run made them (a serve start, `journal replay`, `snapshot import`): each holds a
 * damaged file and means data may have been lost, so it is reported until an operator removes it.
 * A folder that cannot be listed reports none.
 */
export function quarantineFolders(dataDir: string): string[] {
  const root = join(dataDir, QUARANTINE_DIR);
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(root, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** Work dirs of earlier salvages (`.salvage-<time>`), removed; the caller holds the data dir lock. */
export function removeOldSalvages(dataDir: string): string[] {
  const removed = readdirSync(dataDir).filter((name) => name.startsWith('.salvage-'));
  for (const name of removed) rmSync(join(dataDir, name), { recursive: true, force: true });
  return removed;
}

/**
 * Moves the damaged data file (and LMDB's lock file) to quarantine and puts a fresh file with
 * every record still readable in its place. The caller must hold the data dir lock.
 */
export function quarantineAndSalvage(
  dataDir: string,
  problem: string,
  nowMs: number,
  options: CheckerOptions = {},
): SalvageReport {
  const file = join(dataDir, DATA_FILE);
  const work = join(dataDir, `.salvage-${stamp(nowMs)}`);
  // A salvage child that cannot start would read as a file that does not open: stop before anything moves.
  const runChild = (args: readonly string[]): ChildOutcome => {
    const r = runChecker(args, options);
    if (r.started) return r;
    rmSync(work, { recursive: true, force: true });
    throw checkerNotStarted(dataDir, r);
  };
  // A salvage killed half-way (OOM, a supervisor's timeout) left its work dir, a copy of the
  // data, under its own time: nothing else removes those, so each start that salvages does.
  removeOldSalvages(dataDir);
  mkdirSync(work, { recursive: true });
  const lost: string[] = [];
  const slots: SalvageReport['slots'] = {};
  const journal: SalvageReport['journal'] = { records: 0, lastSeq: 0, complete: false, skippedAfter: [] };
  const cutShort: string[] = [];
  let opens = true;
  for (let slot = 0; slot < MAX_SLOTS && opens; slot++) {
    const r = runChild(['salvage-slot', dataDir, work, String(slot)]);
    const p = progress(r.stdout);
    opens = p.opened;
    if (!opens)
      lost.push(
        `everything: the file does not open (${r.problem}); starting empty, the state comes back from --datagrepper backfill if set`,
      );
    if (!opens || (r.ok && p.records === 0)) continue;
    slots[slot] = { records: p.records, complete: r.ok && p.done };
    if (!slots[slot]?.complete) cutShort.push(`${slot} (${p.records} records copied before: ${r.problem})`);
  }
  if (cutShort.length > 0) lost.push(`snapshot slots cut short, restore falls back past them: ${cutShort.join(', ')}`);
  if (opens && !Object.values(slots).some((s) => s.complete))
    lost.push('every snapshot generation: state is rebuilt from the salvaged journal (and --datagrepper backfill)');

  let after = 0;
  let gapFrom: number | null = null;
  let gapProblem = '';
  for (let attempt = 0; attempt <= JOURNAL_RETRIES && opens; attempt++) {
    const r = runChild(['salvage-journal', dataDir, work, String(after)]);
    const p = progress(r.stdout);
    // The previous run died after seq gapFrom; this one resumed at its first key: everything between is lost.
    if (gapFrom !== null && typeof p.firstKey === 'number' && p.records > 0) {
      lost.push(`journal seqs ${gapFrom + 1}..${p.firstKey - 1} (${p.firstKey - 1 - gapFrom} messages): ${gapProblem}`);
      gapFrom = null;
    }
    journal.records += p.records;
    if (typeof p.lastKey === 'number') journal.lastSeq = p.lastKey;
    if (r.ok && p.done) {
      journal.complete = attempt === 0;
      break;
    }
    // Past the bad page: skip a growing run of seqs and try again.
    const from = Math.max(after, journal.lastSeq);
    after = from + 256 * 2 ** attempt;
    journal.skippedAfter.push(from);
    if (gapFrom === null) {
      gapFrom = from;
      gapProblem = r.problem;
    }
  }
  if (gapFrom !== null)
    lost.push(
      `journal records after seq ${gapFrom}: unreadable (${gapProblem}), still after ${JOURNAL_RETRIES} skips ahead`,
    );
  if (journal.records > 0) {
    const r = runChild(['reindex', work]);
    if (!r.ok)
      lost.push(
        `the journal's id and time indexes (${r.problem}): de-duplication against older messages and /raw history are incomplete until those records are trimmed`,
      );
  }

  const quarantinedTo = join(dataDir, QUARANTINE_DIR, stamp(nowMs));
  mkdirSync(quarantinedTo, { recursive: true });
  renameSync(file, join(quarantinedTo, DATA_FILE));
  if (existsSync(join(dataDir, DATA_LOCK_FILE)))
    renameSync(join(dataDir, DATA_LOCK_FILE), join(quarantinedTo, DATA_LOCK_FILE));
  if (existsSync(join(work, DATA_FILE))) renameSync(join(work, DATA_FILE), file);
  rmSync(work, { recursive: true, force: true });
  return { file, problem, quarantinedTo, slots, journal, lost };
}
