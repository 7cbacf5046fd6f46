import type { PluginRuntime } from '../actors/plugin-runtime.js';
import type { SnapshotCut } from '../actors/snapshot-cut.js';
import { encodeChecked } from './codec.js';
import type { PluginRecord } from './format.js';
import type { NotLoadedMark } from './not-loaded.js';
import { shapeOf } from './plugin-shape.js';
import { UnencodableValueError } from './unencodable-value.js';

/** A plugin's value encoded, or UnencodableValueError naming where it is held (not a failed write). */
export function encodedValue(ident: string, store: string, key: string, value: unknown): Buffer {
  try {
    return encodeChecked(value);
  } catch (err) {
    throw new UnencodableValueError(ident, store, key, err);
  }
}

/**
 * A loaded plugin's record in a snapshot's meta, as of its cut; `mark`, where its state stops
 * while a start-up catch-up is not done, goes last as `notLoadedAfter`.
 */
export function recordOf(runtime: PluginRuntime, cut: SnapshotCut, mark?: NotLoadedMark): PluginRecord {
  const record: PluginRecord = {
    version: runtime.plugin.version,
    rows: cut.rows,
    stores: [...cut.stores],
    entries: { ...cut.entries },
    shape: shapeOf(runtime.plugin),
    lastMessageAt: cut.lastMessageAt,
    ...(cut.expiredTo === null ? {} : { expiredTo: cut.expiredTo }),
    ...(cut.health.failures > 0 ? { failures: cut.health.failures } : {}),
    ...(cut.health.quarantinedUntil === null ? {} : { quarantinedUntil: cut.health.quarantinedUntil }),
  };
  return mark === undefined ? record : { ...record, notLoadedAfter: mark };
}
