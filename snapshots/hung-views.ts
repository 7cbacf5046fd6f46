import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { VIEW_PARAMS_BYTES } from '../actors/apply-beacon.js';
import { readRecordList, writeRecordFile } from './record-file.js';

/**
 * `<data dir>/hung-views.json`: the (plugin, parameters) pairs a plugin's custom `view()` was
 * computing past --plugin-hang-timeout, written by the hang watch thread just before it ends the
 * process (src/hang-watch-worker.ts), read at the next start so that view refuses those
 * parameters (actors/runtime-view-watch.ts, ViewHungBefore) instead of hanging the process again.
 * Also the pairs a run died on while the view computed past SLOW_APPLY_MS (out of memory: the
 * watch thread's mark, snapshots/applying-mark.ts), recorded by the next start (`crashed`). One
 * death is enough, unlike a message's two: a refused view loses no data, the record ages out,
 * and an HTTP client retrying what filled the heap would otherwise end run after run.
 *
 * A record is dropped at a start when its plugin is no longer loaded, when the plugin's view is
 * not the one that hung (viewDigestOf: its `version` and the source text of `view` and
 * `viewIsRows`), or MAX_HUNG_VIEW_AGE_SECONDS after it was written (the hang may have depended
 * on a state since gone; trying again costs one more hang at most). At most MAX_HUNG_VIEWS
 * records and MAX_FILE_BYTES of file, the newest kept: parameters come from HTTP clients, and
 * every hang they cause costs a restart, so this is far more than a real deployment meets.
 */
export const HUNG_VIEWS_FILE = 'hung-views.json';

/** Records kept; a longer list keeps the newest. */
export const MAX_HUNG_VIEWS = 100;
/** A record older than this is dropped at a start: 7 days. */
export const MAX_HUNG_VIEW_AGE_SECONDS = 7 * 86_400;
/**
 * Bytes of the file read at most, and written at most (the oldest records give way): 100 records
 * of 1 KiB parameters are ~130 KB, or up to six times that when JSON escapes every character.
 */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Longest ident a record may name (registered idents are far shorter). */
const MAX_IDENT_CHARS = 200;
/** A digest as viewDigestOf() writes it (64 hex digits); longer is not one. */
const MAX_DIGEST_CHARS = 128;

/** One view hang as stored. */
export interface StoredViewHang {
  readonly ident: string;
  /** The parameters as the beacon held them (viewParamsText in actors/apply-beacon.ts). */
  readonly params: string;
  /** viewDigestOf() of the plugin that hung. */
  readonly view: string;
  /** Wall-clock time the watch ended the process, ISO-8601. */
  readonly at: string;
  readonly timeoutSeconds: number;
  /** The run died while the view computed (applying-mark.ts) rather than hanging past the timeout; `at` is when the next start found it. */
  readonly crashed?: true;
}

export interface HungViewsFile {
  readonly records: readonly StoredViewHang[];
  /** Why the file, or some records, were not usable (they were then ignored), or null. */
  readonly problem: string | null;
}

export const hungViewsPath = (dataDir: string): string => join(dataDir, HUNG_VIEWS_FILE);

/**
 * What a record of a view hang is tied to: the plugin's state `version` and the source text of
 * its `view` and `viewIsRows`. A fix to the view changes it and drops the record; a fix in a
 * helper the view calls does not (bump `version`, delete the file, or wait for the record's age).
 */
export function viewDigestOf(definition: {
  readonly version?: number | undefined;
  readonly view?: unknown;
  readonly viewIsRows?: unknown;
}): string {
  const text = JSON.stringify([definition.version ?? 1, String(definition.view), String(definition.viewIsRows)]);
  return createHash('sha256').update(text).digest('hex');
}

export function readHungViews(dataDir: string): HungViewsFile {
  return readRecordList(hungViewsPath(dataDir), MAX_FILE_BYTES, 'views', MAX_HUNG_VIEWS, storedOf);
}

/**
 * Adds one record (the watch thread, the main thread being stuck), replacing one of the same
 * plugin and parameters. Atomic: a new file, renamed over.
 */
export function recordViewHang(dataDir: string, record: StoredViewHang): void {
  const { records } = readHungViews(dataDir);
  const others = records.filter((r) => !(r.ident === record.ident && r.params === record.params));
  writeHungViews(dataDir, [...others, record]);
}

/**
 * The records still in force at a start: of a plugin loaded now (`digests`: ident → its
 * viewDigestOf(), for plugins with a custom view) whose view is the one that hung, written at
 * most MAX_HUNG_VIEW_AGE_SECONDS before `nowMs`. Rewrites the file when any is dropped (removes
 * it when none is left). Returns the records kept and those dropped.
 */
export function pruneHungViews(
  dataDir: string,
  records: readonly StoredViewHang[],
  digests: ReadonlyMap<string, string>,
  nowMs: number,
): { kept: StoredViewHang[]; dropped: { record: StoredViewHang; why: string }[] } {
  const kept: StoredViewHang[] = [];
  const dropped: { record: StoredViewHang; why: string }[] = [];
  for (const r of records) {
    const digest = digests.get(r.ident);
    const ageSeconds = (nowMs - Date.parse(r.at)) / 1000;
    if (digest === undefined) dropped.push({ record: r, why: 'no plugin with a view has this ident now' });
    else if (digest !== r.view) dropped.push({ record: r, why: "the plugin's view changed since" });
    // Dated far ahead (a clock set back since, an edited file) is not kept for good either.
    else if (!(Math.abs(ageSeconds) <= MAX_HUNG_VIEW_AGE_SECONDS))
      dropped.push({ record: r, why: `dated more than ${MAX_HUNG_VIEW_AGE_SECONDS} s from now` });
    else kept.push(r);
  }
  if (kept.length !== records.length) writeHungViews(dataDir, kept);
  return { kept, dropped };
}

/** The file's text for `records`: the newest that fit MAX_HUNG_VIEWS and MAX_FILE_BYTES. */
export function hungViewsText(records: readonly StoredViewHang[]): string {
  const items = records
    .slice(-MAX_HUNG_VIEWS)
    .map((r) =>
      JSON.stringify(
        r.crashed === true
          ? { plugin: r.ident, params: r.params, view: r.view, at: r.at, crashed: true }
          : { plugin: r.ident, params: r.params, view: r.view, at: r.at, timeout_seconds: r.timeoutSeconds },
      ),
    );
  // `{"views":[` + items joined by `,\n` + `]}\n`: the oldest give way until it fits.
  let bytes = 13 + items.reduce((n, s) => n + Buffer.byteLength(s) + 2, 0);
  let first = 0;
  while (bytes > MAX_FILE_BYTES && first < items.length) bytes -= Buffer.byteLength(items[first++] as string) + 2;
  return `{"views":[\n${items.slice(first).join(',\n')}\n]}\n`;
}

function writeHungViews(dataDir: string, records: readonly StoredViewHang[]): void {
  const path = hungViewsPath(dataDir);
  if (records.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  writeRecordFile(path, hungViewsText(records));
}

function storedOf(item: unknown): StoredViewHang | null {
  if (typeof item !== 'object' || item === null) return null;
  const { plugin, params, view, at, timeout_seconds: timeout, crashed } = item as Record<string, unknown>;
  if (typeof plugin !== 'string' || plugin.length === 0 || plugin.length > MAX_IDENT_CHARS) return null;
  if (typeof params !== 'string' || Buffer.byteLength(params) > VIEW_PARAMS_BYTES) return null;
  if (typeof view !== 'string' || view.length === 0 || view.length > MAX_DIGEST_CHARS) return null;
  // Its age is what ends it: a record without a readable time would never end.
  if (typeof at !== 'string' || at.length > 64 || Number.isNaN(Date.parse(at))) return null;
  if (crashed !== undefined && crashed !== true) return null;
  const record = {
    ident: plugin,
    params,
    view,
    at,
    timeoutSeconds: typeof timeout === 'number' && Number.isFinite(timeout) ? timeout : 0,
  };
  return crashed === true ? { ...record, crashed } : record;
}
