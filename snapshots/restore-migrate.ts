/** A plugin's state written at an older version, run through its migrate hook for restore. */
import { StatscacheError } from '../actors/errors.js';
import { notPromise } from '../actors/hook-result.js';
import type { StoredState } from '../actors/plugin-api.js';
import type { LoadedEntries, LoadedState, PluginRuntime } from '../actors/plugin-runtime.js';
import { conformToShape } from './plugin-shape.js';

/** The Maps a plugin's migrate hook is given (plugin-api.ts, StoredState). */
export function toMaps(state: LoadedState): StoredState {
  const map = (e: LoadedEntries) => new Map(e.keys.map((k, i) => [k, e.values[i]] as [string, unknown]));
  return {
    rows: map(state.rows),
    stores: Object.fromEntries(Object.entries(state.stores).map(([name, e]) => [name, map(e)])),
  };
}

/** A migrate hook's answer, as load() takes it. */
export function fromMaps(state: StoredState): LoadedState {
  const entries = (m: Map<string, unknown>): LoadedEntries => ({ keys: [...m.keys()], values: [...m.values()] });
  return {
    rows: entries(state.rows),
    stores: Object.fromEntries(Object.entries(state.stores).map(([name, m]) => [name, entries(m)])),
  };
}

export function migrate(runtime: PluginRuntime, stored: StoredState, from: number): StoredState {
  const hook = runtime.plugin.definition.migrate;
  if (!hook) {
    throw new StatscacheError(
      'SC_SNAPSHOT_MIGRATION_FAILED',
      `plugin "${runtime.ident}" has state version ${from} on disk, code version ${runtime.plugin.version}, and no migrate hook`,
    );
  }
  let out: unknown;
  try {
    out = notPromise(hook(stored, from), 'it returned a promise: migrate must return the converted state at once');
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
