import type { PluginRecord, SnapshotMeta } from './format.js';

/**
 * Where a plugin's state stopped when a run started without it: the journal position and
 * newest message time of the generation it was last loaded in. Its record is carried unchanged
 * through the generations written without it (restore.ts, `retained`), so loading it again
 * restores the state as it was then, short of every message taken in meanwhile. That used to
 * go unsaid; the mark lets the start that loads it again say so (restore-log.ts).
 */
export interface NotLoadedMark {
  readonly journalSeq: number;
  readonly newestTimestamp: number;
}

/** A record's mark, or null (loaded in the generation that wrote it; or a hand-edited value). */
export function notLoadedAfterOf(record: PluginRecord): NotLoadedMark | null {
  const m = (record as { notLoadedAfter?: unknown }).notLoadedAfter as Partial<NotLoadedMark> | undefined;
  if (typeof m !== 'object' || m === null) return null;
  if (typeof m.journalSeq !== 'number' || typeof m.newestTimestamp !== 'number') return null;
  return { journalSeq: m.journalSeq, newestTimestamp: m.newestTimestamp };
}

/** The record of a plugin not loaded now, as the generations written without it carry it: marked once, at the first. */
export function markNotLoaded(record: PluginRecord, meta: SnapshotMeta): PluginRecord {
  if (notLoadedAfterOf(record) !== null) return record;
  return { ...record, notLoadedAfter: { journalSeq: meta.journalSeq, newestTimestamp: meta.newestTimestamp } };
}
