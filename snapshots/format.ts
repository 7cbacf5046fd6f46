import type { NotLoadedMark } from './not-loaded.js';
import type { PluginShape } from './plugin-shape.js';
import { type SeqRanges, seqRangesProblem } from './replay-skip.js';

/**
 * The on-disk snapshot format. Bump FORMAT_VERSION only with a reader for the old one, and
 * whenever an older build would misread what a newer one writes (a meta field it would ignore
 * to its cost, a new entry or journal encoding): an older build refuses to start on a data dir
 * whose newest generation has a higher format (restore.ts), so that is what makes a downgrade
 * stop instead of reading wrongly. The documented downgrade imports the older backup with the
 * newer build: its `snapshot import` must then write an export of an older format in that format.
 */
export const FORMAT_VERSION = 1;

export interface PluginRecord {
  /** The plugin's state version when it was written. */
  readonly version: number;
  readonly rows: number;
  readonly stores: readonly string[];
  /** Entries written per container, checked on restore so a lost or extra entry is detected. */
  readonly entries?: Readonly<Record<string, number>>;
  /** Timestamp of the newest message the plugin applied, seconds. */
  readonly lastMessageAt?: number | null;
  /**
   * Message time the plugin's expiring stores and windowed counters were expired to, written only
   * when ahead of `lastMessageAt` (its newest messages were dropped after their expiry ran).
   */
  readonly expiredTo?: number;
  /** Update errors in a row, written only when some (absent: none; records before they were kept). */
  readonly failures?: number;
  /**
   * Written only while the plugin is quarantined: the message time its cool-down ends, so a
   * restore resumes the quarantine where a replica that did not restart still has it (absent:
   * healthy; records before it was kept restore healthy, as they always did).
   */
  readonly quarantinedUntil?: number;
  /** Key columns, columns and store layouts the state was written with (absent: written before they were kept). */
  readonly shape?: PluginShape;
  /** On the record of a plugin not loaded: the generation its state was last loaded in (not-loaded.ts). */
  readonly notLoadedAfter?: NotLoadedMark;
}

/** Last `i` and timestamp seen per publisher, for gap detection across restarts. */
export type PublisherTable = Readonly<Record<string, { readonly i: number; readonly ts: number }>>;

export interface SnapshotMeta {
  readonly format: number;
  /** Increases by one per snapshot written; the slot is generation mod the slot count. */
  readonly generation: number;
  readonly slot: number;
  /** Wall-clock milliseconds when it was taken. */
  readonly takenAt: number;
  /** The last journal seq whose message this state includes: replay starts after it. */
  readonly journalSeq: number;
  /**
   * Seqs after journalSeq whose messages this state holds already, which replay on top of it
   * passes over (replay-skip.ts): written by `snapshot import` into the data dir's older
   * generations when it moves their messages after the generation it writes. Absent: none.
   */
  readonly replaySkip?: SeqRanges;
  /**
   * The newest message time this state may count while the journal no longer holds its id,
   * kept when `snapshot import` lowers the data dir's mark (DataStore.trimmedThrough) for the
   * older state it writes: restoring this generation raises the mark back to it, so a backfill
   * does not count such messages again. Absent: the data dir's mark alone.
   */
  readonly coveredThrough?: number;
  /**
   * With coveredThrough: the journal's end when the import lowered the mark. Records after it
   * dated at or before coveredThrough came in under the lower mark (a backfill of what the
   * imported state lacked), and this state may count them already: replay on top of it passes
   * over them, as a backfill under its own mark would have refused them (659 of 510 counted).
   * A later import leaves the pair as it is: a mark raised over this end passed over what came
   * in between, which this state lacks (200 of 201 counted).
   */
  readonly coveredAfter?: number;
  /** Newest message timestamp (seconds) included, 0 when none. */
  readonly newestTimestamp: number;
  readonly publishers: PublisherTable;
  readonly plugins: Readonly<Record<string, PluginRecord>>;
  /**
   * The key budget's state (--max-keys-total: its cap, when it lifts, where its next check
   * falls), so a restart cuts where a replica that did not restart does. Absent: none kept
   * (written before it was, or no budget); read through keyBudgetRecordOf.
   */
  readonly keyBudget?: unknown;
}

/**
 * The format of a decoded meta record when a newer statscache wrote it (above FORMAT_VERSION),
 * else null. Its checksum held, so it is not damage: this build cannot read it.
 */
export function newerFormatOf(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  const format = (value as Record<string, unknown>)['format'];
  return typeof format === 'number' && Number.isInteger(format) && format > FORMAT_VERSION ? format : null;
}

/** Checks the shape of a decoded meta record; returns what is wrong, or null. */
export function metaProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'meta record is not an object';
  const m = value as Record<string, unknown>;
  if (typeof m['format'] !== 'number' || !Number.isInteger(m['format'])) return 'meta record has no integer "format"';
  if (m['format'] > FORMAT_VERSION)
    return `format ${String(m['format'])} is newer than this statscache reads (${FORMAT_VERSION})`;
  for (const field of ['generation', 'slot', 'journalSeq', 'takenAt', 'newestTimestamp']) {
    if (typeof m[field] !== 'number' || !Number.isFinite(m[field])) return `meta record has no numeric "${field}"`;
  }
  if (m['replaySkip'] !== undefined) {
    const problem = seqRangesProblem(m['replaySkip'], m['journalSeq'] as number);
    if (problem !== null) return `meta record: ${problem}`;
  }
  if (
    m['coveredThrough'] !== undefined &&
    (typeof m['coveredThrough'] !== 'number' || Number.isNaN(m['coveredThrough']))
  )
    return 'meta record: "coveredThrough" is not a number';
  if (m['coveredAfter'] !== undefined && !Number.isSafeInteger(m['coveredAfter']))
    return 'meta record: "coveredAfter" is not an integer seq';
  if (typeof m['plugins'] !== 'object' || m['plugins'] === null) return 'meta record has no "plugins"';
  if (typeof m['publishers'] !== 'object' || m['publishers'] === null) return 'meta record has no "publishers"';
  for (const [ident, rec] of Object.entries(m['plugins'] as Record<string, unknown>)) {
    const r = rec as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || typeof r['version'] !== 'number' || !Array.isArray(r['stores'])) {
      return `meta record for plugin "${ident}" is malformed`;
    }
  }
  return null;
}
