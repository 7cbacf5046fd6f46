/**
 * The start-up check of the data file (store-check.ts), with the newest snapshot slot read on
 * the way. Children stream shares of that slot's entries, checksums verified (slot-stream.ts),
 * while another walks every other record; this process decodes the streams as they arrive. The two
 * cores share the work the check and the load used to do one after the other. As before, the
 * service maps the file only after every child has read its pages and exited cleanly, and what
 * they read counts only then.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILE } from './lmdb-store.js';
import type { PrereadSlot } from './restore.js';
import { joinShares, SlotStreamReader } from './slot-stream.js';
import {
  CHILD_TIMEOUT_MS,
  type CheckerOptions,
  type ChildOutcome,
  checkerNotStarted,
  checkerUnanswered,
  childOutcome,
  childScript,
} from './checker-process.js';
import { type CheckResult, checkAccess, checkDataFile } from './store-check.js';

/**
 * Children reading shares of the slot at once: with the walk of the rest, and this process
 * decoding, two keep a 2-core machine busy without one share waiting on another for long.
 */
const STREAM_SHARES = 2;

/**
 * Below this size of data file one child walks it all and restore reads the slot itself after
 * the check, as before the read ahead: its file is read in well under a second, while each
 * checker process costs ~0.3 s of CPU to start (Node and its modules), three of them more than
 * the reading they share. Tests pass 0 to have small files streamed.
 */
export const STREAM_ABOVE_BYTES = 32 * 1024 * 1024;

/** A passed check may bring the newest slot's entries (null: restore reads the slot itself). */
export type CheckAndReadResult =
  | (CheckResult & { readonly ok: true; readonly preread: PrereadSlot | null })
  | (CheckResult & { readonly ok: false });

function runChild(
  args: readonly string[],
  options: CheckerOptions,
  onData?: (chunk: Buffer) => void,
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(options.node ?? process.execPath, [childScript(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.stdout.on('data', onData ?? ((chunk: Buffer) => (stdout += chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => (error = err));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve(childOutcome({ error, signal, status, stdout, stderr, timedOut }));
    });
  });
}

/** The whole walk in one child (check-rest's work with no slot left out), nothing read ahead. */
async function checkWhole(dataDir: string, options: CheckerOptions, started: number): Promise<CheckAndReadResult> {
  const r = await runChild(['check', dataDir], options);
  if (checkerUnanswered(r)) throw checkerNotStarted(dataDir, r);
  const ms = performance.now() - started;
  if (!r.ok) return { ok: false, problem: r.problem, ms };
  try {
    return { ok: true, counts: JSON.parse(r.stdout) as Record<string, number>, ms, preread: null };
  } catch {
    return { ok: false, problem: `the checker answered ${JSON.stringify(r.stdout.slice(0, 200))}`, ms };
  }
}

export async function checkAndRead(
  dataDir: string,
  options: { write: boolean; streamAboveBytes?: number | undefined } & CheckerOptions,
): Promise<CheckAndReadResult> {
  const started = performance.now();
  const file = join(dataDir, DATA_FILE);
  if (!existsSync(file)) return { ok: true, counts: {}, ms: 0, preread: null };
  checkAccess(dataDir, options.write);
  if (statSync(file).size <= (options.streamAboveBytes ?? STREAM_ABOVE_BYTES))
    return checkWhole(dataDir, options, started);
  const readers = Array.from({ length: STREAM_SHARES }, () => new SlotStreamReader());
  // A stream this process cannot follow costs the read ahead only: restore reads the slot itself.
  let followed = true;
  const runs = await Promise.all([
    runChild(['check-rest', dataDir], options),
    ...readers.map((reader, part) =>
      runChild(['stream-slot', dataDir, String(part), String(STREAM_SHARES)], options, (chunk) => {
        if (!followed) return;
        try {
          reader.push(chunk);
        } catch {
          followed = false;
        }
      }),
    ),
  ]);
  const rest = runs[0] as ChildOutcome;
  const unstarted = runs.find(checkerUnanswered);
  if (unstarted) throw checkerNotStarted(dataDir, unstarted);
  const ms = performance.now() - started;
  const failed = runs.find((r) => !r.ok);
  if (failed) return { ok: false, problem: failed.problem, ms };
  let walked: { slot: number | null; counts: Record<string, number> };
  try {
    walked = JSON.parse(rest.stdout) as typeof walked;
  } catch {
    return { ok: false, problem: `the checker answered ${JSON.stringify(rest.stdout.slice(0, 200))}`, ms };
  }
  // The children chose the slot apart: the one left out of the walk may not have been read. Never
  // expected (nothing writes the file meanwhile), so the whole check runs again the old way.
  if (readers.some((r) => r.slot !== walked.slot)) {
    const check = checkDataFile(dataDir, options);
    return check.ok ? { ...check, preread: null } : check;
  }
  const preread = followed ? joinShares(readers) : null;
  const streamed = readers.reduce((n, r) => n + (r.entries ?? 0), 0);
  const { 'snapshot-recorded': recorded, ...walkedCounts } = walked.counts;
  const counts = { ...walkedCounts, snapshot: (walkedCounts['snapshot'] ?? 0) + streamed };
  // As walkedAll (lmdb-store.ts) checks each whole walk: a page the cursors stepped over silently.
  if (recorded !== undefined && recorded !== counts.snapshot)
    return {
      ok: false,
      problem: `LMDB refused it: snapshot: the walk met ${counts.snapshot} records, the database records ${recorded} (a damaged page)`,
      ms,
    };
  return { ok: true, counts, ms, preread };
}
