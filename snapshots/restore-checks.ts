/** restore's checks of a plugin's stored state against its record and the code loaded now. */
import { StatscacheError } from '../actors/errors.js';
import type { LoadedState, PluginRuntime } from '../actors/plugin-runtime.js';
import type { PluginRecord } from './format.js';
import { shapeChanges, shapeOf } from './plugin-shape.js';

export function checkVersion(runtime: PluginRuntime, record: PluginRecord): void {
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
export function checkShape(runtime: PluginRuntime, record: PluginRecord): void {
  const changes = shapeChanges(record, shapeOf(runtime.plugin));
  if (changes.length === 0) return;
  throw new StatscacheError(
    'SC_SNAPSHOT_SHAPE_CHANGED',
    `plugin "${runtime.ident}" ("${runtime.plugin.definition.name}") has state on disk written at its version ${record.version} with another shape: ${changes.join('; ')}. Read as it is, that state would be misread. Bump the plugin's "version" and give it a migrate(stored, fromVersion) that converts the state (one returning { rows: new Map(), stores: {} } starts it over), or put the previous definition back; taking the plugin out of the config keeps its state untouched`,
  );
}

export function checkCounts(ident: string, record: PluginRecord, stored: LoadedState): void {
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

export function validateRows(ident: string, stored: LoadedState): void {
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
