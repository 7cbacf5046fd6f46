import type { PluginRecord, SnapshotMeta } from './format.js';

/**
 * Where a plugin's state stopped when a run started without it: the journal position and
 * newest message time of the generation it was last loaded in. Its record is carried unchanged
 * through the generations written without it (restore.ts, `retained`), so loading it again
 * restores the state as it was then, short of every message taken in meanwhile: the start
 * that loads it again replays the journal's records after the mark into it alone, and says
 * what it could not (catch-up.ts). The same mark stands on a loaded plugin's record when a
 * stop came before that catch-up was done, at the seq it reached.
 */
export interface NotLoadedMark {
  readonly journalSeq: number;
  readonly newestTimestamp: number;
  /**
   * journalSeq names a seq of another data dir's journal (`snapshot import` of an export that
   * carried the record): this journal cannot tell what the state lacks, so no catch-up.
   */
  readonly foreign?: true;
}

/** A record's mark, or null (loaded in the generation that wrote it; or a hand-edited value). */
export function notLoadedAfterOf(record: PluginRecord): NotLoadedMark | null {
  const m = (record as { notLoadedAfter?: unknown }).notLoadedAfter as Partial<NotLoadedMark> | undefined;
  if (typeof m !== 'object' || m === null) return null;
  if (typeof m.journalSeq !== 'number' || typeof m.newestTimestamp !== 'number') return null;
  return {
    journalSeq: m.journalSeq,
    newestTimestamp: m.newestTimestamp,
    ...(m.foreign === true ? { foreign: true as const } : {}),
  };
}

/** The record of a plugin not loaded now, as the generations written without it carry it: marked once, at the first. */
export function markNotLoaded(record: PluginRecord, meta: SnapshotMeta): PluginRecord {
  if (notLoadedAfterOf(record) !== null) return record;
  return { ...record, notLoadedAfter: { journalSeq: meta.journalSeq, newestTimestamp: meta.newestTimestamp } };
}

/** The same records as an import writes them into another data dir: their marks name seqs of the exporting one's journal. */
export function foreignMarks(plugins: Readonly<Record<string, PluginRecord>>): Record<string, PluginRecord> {
  return Object.fromEntries(
    Object.entries(plugins).map(([ident, record]) => {
      const mark = notLoadedAfterOf(record);
      return [
        ident,
        mark === null || mark.foreign ? record : { ...record, notLoadedAfter: { ...mark, foreign: true } },
      ];
    }),
  );
}
