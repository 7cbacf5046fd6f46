import { StatscacheError } from '../actors/errors.js';
import type { KeyedStore } from '../actors/keyed-store.js';
import type { StoredState } from '../actors/plugin-api.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { decode } from './codec.js';
import { FORMAT_VERSION, metaProblem, type PluginRecord, type SnapshotMeta } from './format.js';
import type { SnapshotStore } from './lmdb-store.js';

export interface RestoreReport {
  readonly meta: SnapshotMeta | null;
  /** Plugins restored, with the number of rows each got back. */
  readonly restored: Readonly<Record<string, number>>;
  /** Plugins whose state was migrated from an older version (rewritten at the next snapshot). */
  readonly migrated: readonly string[];
  /** State on disk for plugins not loaded now: kept untouched, never dropped. */
  readonly retained: Readonly<Record<string, PluginRecord>>;
}

/**
 * Loads the stored state into the runtimes. Anything it cannot read stops the start with
 * a coded error naming the plugin and key: silently starting empty would lose data.
 */
export function restore(runtimes: readonly PluginRuntime[], store: SnapshotStore): RestoreReport {
  const raw = store.readMeta();
  if (raw === undefined) return { meta: null, restored: {}, migrated: [], retained: {} };
  let meta: SnapshotMeta;
  try {
    const value = decode(raw);
    const problem = metaProblem(value);
    if (problem) throw new Error(problem);
    meta = value as SnapshotMeta;
  } catch (err) {
    throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', `the snapshot meta record in ${store.dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (meta.format > FORMAT_VERSION) {
    throw new StatscacheError('SC_SNAPSHOT_TOO_NEW', `the snapshot in ${store.dir} has format ${meta.format}; this statscache reads up to ${FORMAT_VERSION}. Run the newer version or restore an older snapshot.`);
  }

  const restored: Record<string, number> = {};
  const migrated: string[] = [];
  const loaded = new Set(runtimes.map((r) => r.ident));
  for (const runtime of runtimes) {
    const record = meta.plugins[runtime.ident];
    if (!record) continue;
    const codeVersion = runtime.plugin.version;
    if (record.version > codeVersion) {
      throw new StatscacheError('SC_SNAPSHOT_TOO_NEW', `plugin "${runtime.ident}" has state version ${record.version} on disk but this code knows version ${codeVersion}; refusing to start rather than discard it`);
    }
    const stored = readStored(runtime.ident, store);
    const state = record.version < codeVersion ? migrate(runtime, stored, record.version) : stored;
    if (state !== stored) migrated.push(runtime.ident);
    load(runtime, state);
    restored[runtime.ident] = runtime.state.rows.size;
  }
  const retained: Record<string, PluginRecord> = {};
  for (const [ident, record] of Object.entries(meta.plugins)) if (!loaded.has(ident)) retained[ident] = record;
  return { meta, restored, migrated, retained };
}

function readStored(ident: string, store: SnapshotStore): StoredState {
  const rows = new Map<string, unknown>();
  const stores: Record<string, Map<string, unknown>> = {};
  for (const entry of store.entries(ident)) {
    let value: unknown;
    try {
      value = decode(entry.value);
    } catch (err) {
      throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', `plugin "${ident}", store "${entry.store}", key ${JSON.stringify(entry.key)}: ${(err as Error).message}`, { cause: err });
    }
    if (entry.store === 'rows') rows.set(entry.key, value);
    else (stores[entry.store] ??= new Map()).set(entry.key, value);
  }
  return { rows, stores };
}

function migrate(runtime: PluginRuntime, stored: StoredState, from: number): StoredState {
  const hook = runtime.plugin.definition.migrate;
  if (!hook) {
    throw new StatscacheError('SC_SNAPSHOT_MIGRATION_FAILED', `plugin "${runtime.ident}" has state version ${from} on disk, code version ${runtime.plugin.version}, and no migrate hook`);
  }
  try {
    return hook(stored, from);
  } catch (err) {
    throw new StatscacheError('SC_SNAPSHOT_MIGRATION_FAILED', `plugin "${runtime.ident}": migrate from version ${from} threw: ${(err as Error).message}`, { cause: err });
  }
}

function load(runtime: PluginRuntime, state: StoredState): void {
  for (const [key, row] of state.rows) {
    const ts = (row as { timestamp?: unknown } | null)?.timestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) {
      throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', `plugin "${runtime.ident}", row ${JSON.stringify(key)} has no numeric timestamp`);
    }
    runtime.state.rows.load(key, row as { timestamp: number });
  }
  for (const [name, entries] of Object.entries(state.stores)) {
    const target = runtime.state.stores[name] as KeyedStore<unknown> | undefined;
    // A store the plugin no longer declares: its data stays on disk only until a migration drops it.
    if (!target) continue;
    for (const [key, value] of entries) target.load(key, value);
  }
}
