/**
 * A damaged data file moved to `<data dir>/quarantine/<time>/`, and what can still be read
 * copied into a fresh file in its place, slot by slot and the journal record by record, each
 * read in a checker child (checker-process.ts); the report says what was lost.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckerOptions, type ChildOutcome, checkerNotStarted, runChecker } from './checker-process.js';
import { DATA_FILE, DATA_LOCK_FILE, MAX_SLOTS } from './lmdb-store.js';

/** Journal salvage restarts past a bad page this many times, skipping further each time. */
const JOURNAL_RETRIES = 6;

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

const doesNotOpen = (problem: string) =>
  `everything: the file does not open (${problem}); starting empty, the state comes back from --datagrepper backfill if set`;

/**
 * The slots worth a salvage child: those one child found holding anything. A child per slot
 * would mostly start, open the file and copy nothing (16 children where one slot was in use:
 * ~3 s of a start after damage). A file that child could not open has nothing to salvage (null);
 * when it opened the file but could not tell (a damaged page ended it), every slot is tried,
 * each in its own child, as before.
 */
function slotsToSalvage(listed: ChildOutcome): number[] | null {
  const every = Array.from({ length: MAX_SLOTS }, (_, slot) => slot);
  const lines = listed.stdout.split('\n');
  const opened = lines.indexOf('opened');
  if (opened < 0) return listed.ok ? every : null;
  if (!listed.ok) return every;
  try {
    // The line after `opened`, wherever that is: a warning printed first must not shift it.
    const slots: unknown = JSON.parse(lines[opened + 1] ?? '');
    return Array.isArray(slots) && slots.every((n) => Number.isInteger(n)) ? (slots as number[]) : every;
  } catch {
    return every;
  }
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
  const listed = runChild(['occupied-slots', dataDir]);
  const occupied = slotsToSalvage(listed);
  let opens = occupied !== null;
  if (!opens) lost.push(doesNotOpen(listed.problem));
  for (const slot of occupied ?? []) {
    if (!opens) break;
    const r = runChild(['salvage-slot', dataDir, work, String(slot)]);
    const p = progress(r.stdout);
    opens = p.opened;
    if (!opens) lost.push(doesNotOpen(r.problem));
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
