import { StatscacheError } from '../actors/errors.js';
import type { StoredState } from '../actors/plugin-api.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { decodeChecked } from './codec.js';
import { metaProblem, type PluginRecord, type SnapshotMeta } from './format.js';
import type { DataStore } from './lmdb-store.js';

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
  /** State on disk for plugins not loaded now: kept, never dropped. */
  readonly retained: Readonly<Record<string, PluginRecord>>;
  /** Newer generations that could not be read, newest first, and why. */
  readonly fallbacks: readonly Fallback[];
}

/**
 * Loads the newest readable snapshot generation into the runtimes. A damaged generation
 * (bad checksum, torn value, unknown future format) is reported and the previous one is
 * tried; the journal then replays what the older generation lacks. Only state newer than
 * the code (a downgrade) or a failing migration stops the start, since going on would lose it.
 */
export function restore(runtimes: readonly PluginRuntime[], store: DataStore): RestoreReport {
  const fallbacks: Fallback[] = [];
  const candidates: { slot: number; meta: SnapshotMeta }[] = [];
  for (const slot of store.slots()) {
    try {
      const value = decodeChecked(store.readSlotMeta(slot) as Uint8Array);
      const problem = metaProblem(value);
      if (problem) throw new Error(problem);
      candidates.push({ slot, meta: value as SnapshotMeta });
    } catch (err) {
      fallbacks.push({ slot, generation: null, reason: `meta record: ${(err as Error).message}` });
    }
  }
  candidates.sort((a, b) => b.meta.generation - a.meta.generation);

  for (const { slot, meta } of candidates) {
    let states: Map<PluginRuntime, StoredState>;
    const migrated: string[] = [];
    try {
      states = new Map();
      for (const runtime of runtimes) {
        const record = meta.plugins[runtime.ident];
        if (!record) continue;
        checkVersion(runtime, record);
        const stored = readStored(runtime.ident, slot, store);
        checkCounts(runtime.ident, record, stored);
        const state = record.version < runtime.plugin.version ? migrate(runtime, stored, record.version) : stored;
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
    for (const [runtime, state] of states) {
      runtime.load(state, meta.plugins[runtime.ident]?.lastMessageAt ?? null);
      restored[runtime.ident] = runtime.stats().rows;
    }
    const loaded = new Set(runtimes.map((r) => r.ident));
    const retained: Record<string, PluginRecord> = {};
    for (const [ident, record] of Object.entries(meta.plugins)) if (!loaded.has(ident)) retained[ident] = record;
    return { meta, restored, migrated, retained, fallbacks };
  }
  return { meta: null, restored: {}, migrated: [], retained: {}, fallbacks };
}

function checkVersion(runtime: PluginRuntime, record: PluginRecord): void {
  if (record.version > runtime.plugin.version) {
    throw new StatscacheError(
      'SC_SNAPSHOT_TOO_NEW',
      `plugin "${runtime.ident}" has state version ${record.version} on disk but this code knows version ${runtime.plugin.version}; refusing to start rather than discard it (run the newer statscache, or restore an older export)`,
    );
  }
}

function readStored(ident: string, slot: number, store: DataStore): StoredState {
  const rows = new Map<string, unknown>();
  const stores: Record<string, Map<string, unknown>> = {};
  store.forEachEntry(slot, ident, (name, key, bytes, size) => {
    let value: unknown;
    try {
      value = decodeChecked(bytes, size);
    } catch (err) {
      throw new StatscacheError(
        'SC_SNAPSHOT_UNREADABLE',
        `slot ${slot}, plugin "${ident}", store "${name}", key ${JSON.stringify(key)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (name === 'rows') rows.set(key, value);
    else (stores[name] ??= new Map()).set(key, value);
  });
  return { rows, stores };
}

function checkCounts(ident: string, record: PluginRecord, stored: StoredState): void {
  if (!record.entries) return;
  for (const [name, want] of Object.entries(record.entries)) {
    const got = name === 'rows' ? stored.rows.size : (stored.stores[name]?.size ?? 0);
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
  try {
    return hook(stored, from);
  } catch (err) {
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}": migrate from version ${from} threw: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function validateRows(ident: string, stored: StoredState): void {
  for (const [key, row] of stored.rows) {
    const ts = (row as { timestamp?: unknown } | null)?.timestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) {
      throw new StatscacheError(
        'SC_SNAPSHOT_UNREADABLE',
        `plugin "${ident}", row ${JSON.stringify(key)} has no numeric timestamp`,
      );
    }
  }
}
