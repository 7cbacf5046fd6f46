import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HungRecord } from '../actors/hung-skips.js';
import { readRecordList, writeRecordFile } from './record-file.js';

/**
 * `<data dir>/hung-messages.json`: the (plugin, journal seq) pairs a plugin held past
 * --plugin-hang-timeout, written by the hang watch thread just before it ends the process
 * (src/hang-watch-worker.ts), read at the next start so the journal's replay skips them
 * (actors/hung-skips.ts). Also the pairs runs died on while applying (applying-mark.ts), with
 * their count, skipped from the second death. A record is kept while the journal still holds its message: a restore
 * that falls back to an older generation replays it again, and must skip it again.
 */
export const HUNG_MESSAGES_FILE = 'hung-messages.json';

/** Records kept; a longer list keeps the newest. Each hang costs a restart, so this is years of them. */
export const MAX_HUNG_RECORDS = 1000;
/** Bytes read of the file at most: 1000 records are ~100 KB. */
const MAX_FILE_BYTES = 1024 * 1024;
/** Longest ident a record may name (registered idents are far shorter). */
const MAX_IDENT_CHARS = 200;

/** One record as stored: who hung on which message, when, under which timeout. */
export interface StoredHang extends HungRecord {
  /** Wall-clock time the watch ended the process (or a start found it had died), ISO-8601. */
  readonly at: string;
  readonly timeoutSeconds: number;
  /**
   * Only in a record of deaths, not of a hang: how many runs died while the plugin applied the
   * message (applying-mark.ts). It is skipped from CRASHES_BEFORE_SKIP on.
   */
  readonly crashes?: number;
}

/**
 * Deaths on one (plugin, message) before it is skipped. One could be anything that ends a process
 * during a slow message (an operator's SIGKILL); the same again at the same place is the message.
 */
export const CRASHES_BEFORE_SKIP = 2;

/** Whether the replay skips this record's message for its plugin. */
export const skipsMessage = (r: StoredHang): boolean => r.crashes === undefined || r.crashes >= CRASHES_BEFORE_SKIP;

export interface HungFile {
  readonly records: readonly StoredHang[];
  /** Why the file was not usable as a whole (it was then ignored), or null. */
  readonly problem: string | null;
}

export const hungMessagesPath = (dataDir: string): string => join(dataDir, HUNG_MESSAGES_FILE);

export function readHungMessages(dataDir: string): HungFile {
  return readRecordList(hungMessagesPath(dataDir), MAX_FILE_BYTES, 'hung', MAX_HUNG_RECORDS, storedHangOf);
}

/** Adds one record (the watch thread, the main thread being stuck). Atomic: a new file, renamed over. */
export function recordHang(dataDir: string, record: StoredHang): void {
  const { records } = readHungMessages(dataDir);
  writeHungMessages(dataDir, [...records, record].slice(-MAX_HUNG_RECORDS));
}

/**
 * Counts a run that died while `ident` applied `seq` (applying-mark.ts): a new record, or one more
 * death on a record of deaths. A recorded hang on the pair already skips it and stays as it is.
 * Returns the record as it now stands.
 */
export function recordCrash(dataDir: string, crash: { seq: number; ident: string; at: string }): StoredHang {
  const { records } = readHungMessages(dataDir);
  const i = records.findIndex((r) => r.seq === crash.seq && r.ident === crash.ident);
  const before = i < 0 ? undefined : records[i];
  if (before !== undefined && before.crashes === undefined) return before;
  const record: StoredHang = { ...crash, timeoutSeconds: 0, crashes: (before?.crashes ?? 0) + 1 };
  const next = i < 0 ? [...records, record] : records.map((r, j) => (j === i ? record : r));
  writeHungMessages(dataDir, next.slice(-MAX_HUNG_RECORDS));
  return record;
}

/**
 * Drops the records whose message the journal no longer holds (seq before `firstRetained`): no
 * replay can reach them. Returns the records kept; the file is removed when none are.
 */
export function pruneHungMessages(
  dataDir: string,
  records: readonly StoredHang[],
  firstRetained: number,
): StoredHang[] {
  const kept = records.filter((r) => r.seq >= firstRetained);
  if (kept.length !== records.length) writeHungMessages(dataDir, kept);
  return kept;
}

/**
 * After `snapshot import` (or `--bootstrap`) renumbered this data dir's own journaled messages
 * (`moves`, old seq → new): a record follows its message to its new seq; one whose message was
 * not moved is in the imported state already, so no replay reaches it. Returns the records kept.
 */
export function remapHungMessages(dataDir: string, moves: readonly { from: number; to: number }[]): number {
  const { records } = readHungMessages(dataDir);
  if (records.length === 0) return 0;
  const to = new Map(moves.map((m) => [m.from, m.to]));
  const kept: StoredHang[] = [];
  for (const r of records) {
    const seq = to.get(r.seq);
    if (seq !== undefined) kept.push({ ...r, seq });
  }
  writeHungMessages(dataDir, kept);
  return kept.length;
}

function writeHungMessages(dataDir: string, records: readonly StoredHang[]): void {
  const path = hungMessagesPath(dataDir);
  if (records.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  const body = {
    hung: records.map((r) =>
      r.crashes === undefined
        ? { seq: r.seq, plugin: r.ident, at: r.at, timeout_seconds: r.timeoutSeconds }
        : { seq: r.seq, plugin: r.ident, at: r.at, crashes: r.crashes },
    ),
  };
  writeRecordFile(path, `${JSON.stringify(body, null, 1)}\n`);
}

function storedHangOf(item: unknown): StoredHang | null {
  if (typeof item !== 'object' || item === null) return null;
  const { seq, plugin, at, timeout_seconds: timeout, crashes } = item as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (typeof plugin !== 'string' || plugin.length === 0 || plugin.length > MAX_IDENT_CHARS) return null;
  if (crashes !== undefined && (typeof crashes !== 'number' || !Number.isSafeInteger(crashes) || crashes < 1))
    return null;
  const record = {
    seq,
    ident: plugin,
    at: typeof at === 'string' ? at.slice(0, 64) : '',
    timeoutSeconds: typeof timeout === 'number' && Number.isFinite(timeout) ? timeout : 0,
  };
  return crashes === undefined ? record : { ...record, crashes };
}
