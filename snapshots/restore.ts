import { StatscacheError } from '../actors/errors.js';
import type { UpdateHealth } from '../actors/lifecycle.js';
import type { StoredState } from '../actors/plugin-api.js';
import type { LoadedEntries, LoadedState, PluginRuntime } from '../actors/plugin-runtime.js';
import { ChecksumError, checksumProblem, decodeChecked, decodeVerified } from './codec.js';
import { FORMAT_VERSION, metaProblem, newerFormatOf, type PluginRecord, type SnapshotMeta } from './format.js';
import type { DataStore } from './lmdb-store.js';
import { markNotLoaded, type NotLoadedMark, notLoadedAfterOf } from './not-loaded.js';
import { conformToShape, shapeChanges, shapeOf } from './plugin-shape.js';

export interface Fallback {
  readonly slot: number;
  readonly generation: number | null;
  readonly reason: string;
}

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

/** A generation a newer statscache wrote, in a snapshot format this one cannot read. */
export interface NewerGeneration {
  readonly slot: number;
  /** Its generation number; +Infinity when its meta record gives none this build reads. */
  readonly generation: number;
  readonly format: number;
}

/**
 * Stops a start (and `journal replay`) on a data dir that a newer statscache wrote last: a
 * generation in a newer format above the newest one this build reads. Falling back past it,
 * as past damage, served the older state (or none: empty plugins, ready) and the next snapshots
 * overwrote the newer build's generations. One below a readable generation is history (an
 * older state imported over it by this version): that start goes on.
 */
export function refuseNewerFormat(newer: readonly NewerGeneration[], newestReadable: number | null): void {
  const above = newer.filter((n) => newestReadable === null || n.generation > newestReadable);
  if (above.length === 0) return;
  const which = above
    .map(
      (n) =>
        `generation ${Number.isFinite(n.generation) ? n.generation : '?'} (slot ${n.slot}) is in snapshot format ${n.format}`,
    )
    .join('; ');
  throw new StatscacheError(
    'SC_SNAPSHOT_TOO_NEW',
    `the data dir was written by a newer statscache: ${which}, and this one reads format ${FORMAT_VERSION}; refusing to start rather than read it wrongly or overwrite it (run the newer statscache, or import an export with this version: statscache snapshot import)`,
  );
}

/**
 * Slots whose meta record reads, newest generation first, those whose does not, and those a
 * newer statscache wrote (newer, also listed in fallbacks). The first candidate is what restore
 * tries first (and what the start-up check streams ahead: check-and-read.ts).
 */
export function slotCandidates(store: DataStore): {
  candidates: { slot: number; meta: SnapshotMeta }[];
  fallbacks: Fallback[];
  newer: NewerGeneration[];
} {
  const fallbacks: Fallback[] = [];
  const candidates: { slot: number; meta: SnapshotMeta }[] = [];
  const newer: NewerGeneration[] = [];
  for (const slot of store.slots()) {
    try {
      const value = decodeChecked(store.readSlotMeta(slot) as Uint8Array);
      const format = newerFormatOf(value);
      if (format !== null) {
        const generation = (value as Record<string, unknown>)['generation'];
        newer.push({
          slot,
          format,
          generation:
            typeof generation === 'number' && !Number.isNaN(generation) ? generation : Number.POSITIVE_INFINITY,
        });
      }
      const problem = metaProblem(value);
      if (problem) throw new Error(problem);
      candidates.push({ slot, meta: value as SnapshotMeta });
    } catch (err) {
      fallbacks.push({ slot, generation: null, reason: `meta record: ${(err as Error).message}` });
    }
  }
  candidates.sort((a, b) => b.meta.generation - a.meta.generation);
  return { candidates, fallbacks, newer };
}

/**
 * A slot's entries read ahead of restore by the start-up check's child (check-and-read.ts),
 * checksums verified there; per plugin whose entries could not be read, why (the message
 * readStored would give).
 */
export interface PrereadSlot {
  readonly slot: number;
  readonly generation: number;
  readonly plugins: ReadonlyMap<string, LoadedState>;
  readonly unreadable: ReadonlyMap<string, string>;
}

function fromPreread(preread: PrereadSlot, ident: string): LoadedState {
  const problem = preread.unreadable.get(ident);
  if (problem !== undefined) throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', problem);
  return preread.plugins.get(ident) ?? { rows: { keys: [], values: [] }, stores: {} };
}

function checkVersion(runtime: PluginRuntime, record: PluginRecord): void {
  if (record.version > runtime.plugin.version) {
    throw new StatscacheError(
      'SC_SNAPSHOT_TOO_NEW',
      `plugin "${runtime.ident}" has state version ${record.version} on disk but this code knows version ${runtime.plugin.version}; refusing to start rather than discard it (run the newer statscache, or restore an older export)`,
    );
  }
}

/**
 * State written by the same version must read as it was written: a definition whose key
 * columns, columns or stores changed without a version bump would misread it (see
 * plugin-shape.ts). Refused like a failing migration, since every start would refuse it again.
 */
function checkShape(runtime: PluginRuntime, record: PluginRecord): void {
  const changes = shapeChanges(record, shapeOf(runtime.plugin));
  if (changes.length === 0) return;
  throw new StatscacheError(
    'SC_SNAPSHOT_SHAPE_CHANGED',
    `plugin "${runtime.ident}" ("${runtime.plugin.definition.name}") has state on disk written at its version ${record.version} with another shape: ${changes.join('; ')}. Read as it is, that state would be misread. Bump the plugin's "version" and give it a migrate(stored, fromVersion) that converts the state (one returning { rows: new Map(), stores: {} } starts it over), or put the previous definition back; taking the plugin out of the config keeps its state untouched`,
  );
}

/**
 * Keys and values side by side, filled as read (a Map per container cost a hash and its growth
 * per entry, twice over with the load): here and by the start-up check's stream reader.
 */
export interface Filling {
  readonly keys: string[];
  readonly values: unknown[];
}

function readStored(ident: string, slot: number, store: DataStore): LoadedState {
  const rows: Filling = { keys: [], values: [] };
  const stores: Record<string, Filling> = {};
  store.forEachEntry(slot, ident, (name, key, bytes, size) => {
    let value: unknown;
    try {
      // The checks the start-up check's stream child makes, then the decode it leaves to us.
      const problem = storedEntryProblem(key, bytes, size);
      if (problem !== null) throw problem;
      value = decodeVerified(bytes, size);
    } catch (err) {
      throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', entryUnreadable(slot, ident, name, key, err as Error), {
        cause: err,
      });
    }
    // LMDB hands a plugin's entries in key order, each key once: no lookup needed.
    const into = name === 'rows' ? rows : (stores[name] ??= { keys: [], values: [] });
    into.keys.push(key);
    into.values.push(value);
  });
  return { rows, stores };
}

/**
 * Why an entry of a slot cannot be restored, in the words restore's fallback reports: read here
 * and by the start-up check's stream child (slot-stream.ts), which must say the same.
 */
export function entryUnreadable(slot: number, ident: string, store: string, key: unknown, problem: Error): string {
  return `slot ${slot}, plugin "${ident}", store "${store}", key ${JSON.stringify(key)}: ${problem.message}`;
}

/** What is wrong with an entry as stored (its key's type, its value's checksum), or null: restore's checks before it decodes. */
export function storedEntryProblem(key: unknown, bytes: Uint8Array, size: number): Error | null {
  // Only a tampered file holds one: the snapshotter writes string keys.
  if (typeof key !== 'string') return new Error('the key is not a string');
  const problem = checksumProblem(bytes, size);
  return problem === null ? null : new ChecksumError(problem);
}

/** The Maps a plugin's migrate hook is given (plugin-api.ts, StoredState). */
function toMaps(state: LoadedState): StoredState {
  const map = (e: LoadedEntries) => new Map(e.keys.map((k, i) => [k, e.values[i]] as [string, unknown]));
  return {
    rows: map(state.rows),
    stores: Object.fromEntries(Object.entries(state.stores).map(([name, e]) => [name, map(e)])),
  };
}

/** A migrate hook's answer, as load() takes it. */
function fromMaps(state: StoredState): LoadedState {
  const entries = (m: Map<string, unknown>): LoadedEntries => ({ keys: [...m.keys()], values: [...m.values()] });
  return {
    rows: entries(state.rows),
    stores: Object.fromEntries(Object.entries(state.stores).map(([name, m]) => [name, entries(m)])),
  };
}

function checkCounts(ident: string, record: PluginRecord, stored: LoadedState): void {
  if (!record.entries) return;
  for (const [name, want] of Object.entries(record.entries)) {
    const got = name === 'rows' ? stored.rows.keys.length : (stored.stores[name]?.keys.length ?? 0);
    if (got !== want)
      throw new StatscacheError(
        'SC_SNAPSHOT_UNREADABLE',
        `plugin "${ident}", store "${name}": ${got} entries on disk, the snapshot wrote ${want} (torn or tampered)`,
      );
  }
}

function migrate(runtime: PluginRuntime, stored: StoredState, from: number): StoredState {
  const hook = runtime.plugin.definition.migrate;
  if (!hook) {
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}" has state version ${from} on disk, code version ${runtime.plugin.version}, and no migrate hook`,
    );
  }
  let out: unknown;
  try {
    out = hook(stored, from);
  } catch (err) {
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}": migrate from version ${from} threw: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // A malformed answer is the hook's fault, not the generation's: taken for damage, restore
  // fell back through every generation and started empty, and the next snapshot wrote that.
  const problem = migratedShapeProblem(out);
  if (problem !== null)
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}": migrate from version ${from} returned ${problem}; expected { rows: Map, stores: { <name>: Map } }`,
    );
  const conformed = conformToShape(runtime.plugin, out as StoredState);
  if (typeof conformed === 'string')
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}": migrate from version ${from} returned ${conformed}`,
    );
  return conformed;
}

function migratedShapeProblem(out: unknown): string | null {
  if (typeof out !== 'object' || out === null) return String(out);
  const { rows, stores } = out as { rows?: unknown; stores?: unknown };
  if (!(rows instanceof Map)) return 'no Map in "rows"';
  if (typeof stores !== 'object' || stores === null) return 'no object in "stores"';
  for (const [name, m] of Object.entries(stores)) if (!(m instanceof Map)) return `no Map in "stores.${name}"`;
  return null;
}

function validateRows(ident: string, stored: LoadedState): void {
  const { keys, values } = stored.rows;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const ts = (values[i] as { timestamp?: unknown } | null)?.timestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) {
      throw new StatscacheError(
        'SC_SNAPSHOT_UNREADABLE',
        `plugin "${ident}", row ${JSON.stringify(key)} has no numeric timestamp`,
      );
    }
  }
}
