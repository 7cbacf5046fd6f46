import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { VIEW_PARAMS_BYTES } from '../actors/apply-beacon.js';
import { readRecordFile, writeRecordFile } from './record-file.js';

/**
 * `<data dir>/applying.json`: the (plugin, journal seq) pair the hang watch thread has seen
 * applied for over SLOW_APPLY_MS, written by that thread while it lasts and removed when the
 * plugin moves on or the service stops. A process that dies inside a plugin (V8 aborts on a heap
 * that a plugin filled from one odd message) runs nothing more, and its restart replays the same
 * message into the same plugin: found at the next start, this file names the message it died on
 * (snapshots/hung-messages.ts counts it; at the second death on it, it is skipped). A death on
 * a live message sooner than SLOW_APPLY_MS after it began leaves no mark (a bare fill of a 128 MiB
 * heap aborts in ~0.15-0.25 s on a fast host; a default heap of gigabytes takes seconds): the
 * start-up replay's closer look (REPLAY_SLOW_APPLY_MS) writes it down from the next run on.
 *
 * A plugin's custom view (or its `viewIsRows`) held past SLOW_APPLY_MS is written down the same
 * way, as (plugin, parameters, view digest): an HTTP client retrying the request that filled the
 * heap would otherwise end every run in turn (snapshots/hung-views.ts records it as a crash).
 */
export const APPLYING_FILE = 'applying.json';

/** How long one plugin must hold one message before the watch thread writes it down. */
export const SLOW_APPLY_MS = 250;

/**
 * The same while the start-up replay runs (the watch looking every REPLAY_POLL_MS meanwhile):
 * after a clean stop it replays next to nothing; after a death it is the very tail the last run
 * died in, and a plugin that filled a small heap from one message died sooner than SLOW_APPLY_MS
 * (128 MiB: ~0.15 s on a fast host), every run again, leaving no mark: a crash loop. Looked at
 * that closely during replay alone, such a death is written down from the second run on.
 */
export const REPLAY_SLOW_APPLY_MS = 20;
export const REPLAY_POLL_MS = 10;

/**
 * A few hundred bytes for a message; a view's parameters are up to VIEW_PARAMS_BYTES of UTF-8,
 * which JSON may escape to six times that. Anything larger was not written here.
 */
const MAX_FILE_BYTES = 16 * 1024;
/** A digest as viewDigestOf() writes it (64 hex digits); longer is not one. */
const MAX_DIGEST_CHARS = 128;
const MAX_IDENT_CHARS = 200;

export interface ApplyingMark {
  readonly kind?: 'message';
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

/** A call of a plugin's custom view (or `viewIsRows`) held past SLOW_APPLY_MS. */
export interface ViewingMark {
  readonly kind: 'view';
  readonly ident: string;
  /** The parameters as the beacon held them (viewParamsText in actors/apply-beacon.ts). */
  readonly params: string;
  /** viewDigestOf() of the plugin (snapshots/hung-views.ts). */
  readonly view: string;
  readonly since: string;
  /** As ApplyingMark.heapShare: the share before the call began. */
  readonly heapShare?: number;
}

const pathOf = (dataDir: string): string => join(dataDir, APPLYING_FILE);

/** Atomic, from the watch thread: a new file renamed over. */
export function markApplying(dataDir: string, mark: ApplyingMark | ViewingMark): void {
  const heap = mark.heapShare === undefined ? {} : { heap_share: Math.round(mark.heapShare * 1000) / 1000 };
  const body =
    mark.kind === 'view'
      ? { view_params: mark.params, view: mark.view, plugin: mark.ident, since: mark.since, ...heap }
      : { seq: mark.seq, plugin: mark.ident, since: mark.since, ...heap };
  writeRecordFile(pathOf(dataDir), `${JSON.stringify(body)}\n`);
}

export function clearApplying(dataDir: string): void {
  rmSync(pathOf(dataDir), { force: true });
}

/**
 * The mark a process that died left, removed as it is read; null when there is none. A file that
 * is not a mark (damaged, edited) is removed too, and said so in `problem`.
 */
export function takeApplying(dataDir: string): {
  mark: ApplyingMark | ViewingMark | null;
  problem: string | null;
} {
  const read = readRecordFile(pathOf(dataDir), MAX_FILE_BYTES);
  if (read.kind === 'missing') return { mark: null, problem: null };
  clearApplying(dataDir);
  if (read.kind === 'problem') return { mark: null, problem: read.problem };
  const parsed = read.value;
  const fields = (parsed ?? {}) as Record<string, unknown>;
  const { seq, plugin, since, heap_share: heapShare, view_params: params, view } = fields;
  if (typeof plugin !== 'string' || plugin.length === 0 || plugin.length > MAX_IDENT_CHARS)
    return { mark: null, problem: `${APPLYING_FILE} names no plugin` };
  const common = {
    ident: plugin,
    since: typeof since === 'string' ? since.slice(0, 64) : '',
    ...(typeof heapShare === 'number' && Number.isFinite(heapShare) && heapShare >= 0 ? { heapShare } : {}),
  };
  if ('view_params' in fields) {
    if (typeof params !== 'string' || Buffer.byteLength(params) > VIEW_PARAMS_BYTES)
      return { mark: null, problem: `${APPLYING_FILE} names no view parameters of at most ${VIEW_PARAMS_BYTES} bytes` };
    if (typeof view !== 'string' || view.length === 0 || view.length > MAX_DIGEST_CHARS)
      return { mark: null, problem: `${APPLYING_FILE} names no view digest` };
    return { mark: { kind: 'view', params, view, ...common }, problem: null };
  }
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return { mark: null, problem: `${APPLYING_FILE} names no journal seq` };
  return { mark: { seq, ...common }, problem: null };
}
