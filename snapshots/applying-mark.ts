import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readRecordFile, writeRecordFile } from './record-file.js';

/**
 * `<data dir>/applying.json`: the (plugin, journal seq) pair the hang watch thread has seen
 * applied for over SLOW_APPLY_MS, written by that thread while it lasts and removed when the
 * plugin moves on or the service stops. A process that dies inside a plugin (V8 aborts on a heap
 * that a plugin filled from one odd message) runs nothing more, and its restart replays the same
 * message into the same plugin: found at the next start, this file names the message it died on
 * (snapshots/hung-messages.ts counts it; at the second death on it, it is skipped). Dying that
 * way takes the heap's garbage collector seconds of struggle, far past SLOW_APPLY_MS.
 */
export const APPLYING_FILE = 'applying.json';

/** How long one plugin must hold one message before the watch thread writes it down. */
export const SLOW_APPLY_MS = 250;

/** A few hundred bytes are written; anything larger was not. */
const MAX_FILE_BYTES = 4096;
const MAX_IDENT_CHARS = 200;

export interface ApplyingMark {
  readonly seq: number;
  readonly ident: string;
  /** Wall-clock time the plugin began on the message, ISO-8601. */
  readonly since: string;
  /**
   * The heap's live share of its limit after the last full collection before the message
   * (src/heap-check.ts HeapWatch.share; 0 before the first), when known.
   */
  readonly heapShare?: number;
}

const pathOf = (dataDir: string): string => join(dataDir, APPLYING_FILE);

/** Atomic, from the watch thread: a new file renamed over. */
export function markApplying(dataDir: string, mark: ApplyingMark): void {
  const heap = mark.heapShare === undefined ? {} : { heap_share: Math.round(mark.heapShare * 1000) / 1000 };
  writeRecordFile(
    pathOf(dataDir),
    `${JSON.stringify({ seq: mark.seq, plugin: mark.ident, since: mark.since, ...heap })}\n`,
  );
}

export function clearApplying(dataDir: string): void {
  rmSync(pathOf(dataDir), { force: true });
}

/**
 * The mark a process that died left, removed as it is read; null when there is none. A file that
 * is not a mark (damaged, edited) is removed too, and said so in `problem`.
 */
export function takeApplying(dataDir: string): { mark: ApplyingMark | null; problem: string | null } {
  const read = readRecordFile(pathOf(dataDir), MAX_FILE_BYTES);
  if (read.kind === 'missing') return { mark: null, problem: null };
  clearApplying(dataDir);
  if (read.kind === 'problem') return { mark: null, problem: read.problem };
  const parsed = read.value;
  const { seq, plugin, since, heap_share: heapShare } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return { mark: null, problem: `${APPLYING_FILE} names no journal seq` };
  if (typeof plugin !== 'string' || plugin.length === 0 || plugin.length > MAX_IDENT_CHARS)
    return { mark: null, problem: `${APPLYING_FILE} names no plugin` };
  const mark = { seq, ident: plugin, since: typeof since === 'string' ? since.slice(0, 64) : '' };
  return {
    mark: typeof heapShare === 'number' && Number.isFinite(heapShare) && heapShare >= 0 ? { ...mark, heapShare } : mark,
    problem: null,
  };
}
