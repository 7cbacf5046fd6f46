/**
 * Restore: the newest readable generation loaded into the runtimes. Its parts: restore-slots.ts
 * (the slots to try, newest first; a newer build's generations refused), restore-read.ts (a
 * slot's entries, from the store or read ahead), restore-checks.ts (version, shape, counts,
 * rows), restore-migrate.ts (an older version's state through its migrate hook).
 */
import { StatscacheError } from '../actors/errors.js';
import type { UpdateHealth } from '../actors/lifecycle.js';
import type { LoadedState, PluginRuntime } from '../actors/plugin-runtime.js';
import type { PluginRecord, SnapshotMeta } from './format.js';
import type { DataStore } from './lmdb-store.js';
import { markNotLoaded, type NotLoadedMark, notLoadedAfterOf } from './not-loaded.js';
import { checkCounts, checkShape, checkVersion, validateRows } from './restore-checks.js';
import { fromMaps, migrate, toMaps } from './restore-migrate.js';
import { fromPreread, type PrereadSlot, readStored } from './restore-read.js';
import { type Fallback, refuseNewerFormat, slotCandidates } from './restore-slots.js';

export { entryUnreadable, type Filling, type PrereadSlot, storedEntryProblem } from './restore-read.js';
export { type Fallback, type NewerGeneration, refuseNewerFormat, slotCandidates } from './restore-slots.js';

export interface RestoreReport {
  /** The generation restored, or null when starting empty. */
  readonly meta: SnapshotMeta | null;
  /** Plugins restored, with the number of rows each got back. */
  readonly restored: Readonly<Record<string, number>>;
  /** Plugins whose state was migrated from an older version (rewritten at the next snapshot). */
  readonly migrated: readonly string[];
  /**
   * State on disk for plugins not loaded now: kept, never dropped. Every new generation carries
   * their records and entries as they are in `retainedSlot` (default: the slot restored, meta.slot).
   */
  readonly retained: Readonly<Record<string, PluginRecord>>;
  /** Where the retained plugins' entries are when that is not meta.slot (journal replay gives a meta of slot -1). */
  readonly retainedSlot?: number;
  /**
   * Plugins loaded again after runs without them, with where their state stopped: restored as it
   * was then, without the messages taken in meanwhile (logged by restore-log.ts).
   */
  readonly resumed?: Readonly<Record<string, NotLoadedMark>>;
  /**
   * Plugins loaded now that the generation restored has no record of (new to the data dir):
   * they start empty, and the start builds them from the journal it holds (catch-up.ts).
   */
  readonly added?: readonly string[];
  /** Newer generations that could not be read, newest first, and why. */
  readonly fallbacks: readonly Fallback[];
}

/**
 * Loads the newest readable snapshot generation into the runtimes. A damaged generation
 * (bad checksum, torn value) is reported and the previous one is tried; the journal then
 * replays what the older generation lacks. State newer than the code (a downgrade: a plugin's
 * state version, or a generation in a newer snapshot format) or a failing migration stops the
 * start, since going on would lose it.
 */
export function restore(
  runtimes: readonly PluginRuntime[],
  store: DataStore,
  preread: PrereadSlot | null = null,
): RestoreReport {
  const { candidates, fallbacks, newer } = slotCandidates(store);
  refuseNewerFormat(newer, candidates[0]?.meta.generation ?? null);
  for (const { slot, meta } of candidates) {
    const read =
      preread?.slot === slot && preread.generation === meta.generation
        ? (ident: string) => fromPreread(preread, ident)
        : (ident: string) => readStored(ident, slot, store);
    let states: Map<PluginRuntime, LoadedState>;
    const migrated: string[] = [];
    try {
      states = new Map();
      for (const runtime of runtimes) {
        const record = meta.plugins[runtime.ident];
        if (!record) continue;
        checkVersion(runtime, record);
        if (record.version === runtime.plugin.version) checkShape(runtime, record);
        const stored = read(runtime.ident);
        checkCounts(runtime.ident, record, stored);
        const state =
          record.version < runtime.plugin.version ? fromMaps(migrate(runtime, toMaps(stored), record.version)) : stored;
        if (state !== stored) migrated.push(runtime.ident);
        validateRows(runtime.ident, state);
        states.set(runtime, state);
      }
    } catch (err) {
      if (err instanceof StatscacheError && err.code !== 'SC_SNAPSHOT_UNREADABLE') throw err;
      fallbacks.push({ slot, generation: meta.generation, reason: (err as Error).message });
      continue;
    }
    const restored: Record<string, number> = {};
    const resumed: Record<string, NotLoadedMark> = {};
    const added = runtimes.filter((r) => meta.plugins[r.ident] === undefined).map((r) => r.ident);
    for (const [runtime, state] of states) {
      const record = meta.plugins[runtime.ident];
      const mark = record ? notLoadedAfterOf(record) : null;
      if (mark !== null) resumed[runtime.ident] = mark;
      const expiredTo = record?.expiredTo;
      runtime.load(
        state,
        record?.lastMessageAt ?? null,
        typeof expiredTo === 'number' ? expiredTo : null,
        record ? healthOf(record) : null,
      );
      restored[runtime.ident] = runtime.stats().rows;
    }
    const loaded = new Set(runtimes.map((r) => r.ident));
    const retained: Record<string, PluginRecord> = {};
    for (const [ident, record] of Object.entries(meta.plugins))
      if (!loaded.has(ident)) retained[ident] = markNotLoaded(record, meta);
    return { meta, restored, migrated, retained, fallbacks, resumed, added };
  }
  return { meta: null, restored: {}, migrated: [], retained: {}, fallbacks };
}

/**
 * The update errors in a row and quarantine a record was written with; a record from before they
 * were kept has neither (healthy, as such a restore always was). Values of the wrong type, which
 * only a hand-edited record holds, count as absent, as `expiredTo` does.
 */
function healthOf(record: PluginRecord): UpdateHealth {
  const { failures, quarantinedUntil } = record as { failures?: unknown; quarantinedUntil?: unknown };
  return {
    failures: typeof failures === 'number' && Number.isSafeInteger(failures) && failures > 0 ? failures : 0,
    quarantinedUntil:
      typeof quarantinedUntil === 'number' && Number.isFinite(quarantinedUntil) ? quarantinedUntil : null,
  };
}
