import { FORMAT_VERSION, type SnapshotMeta } from '../../snapshots/format.js';

/** A snapshot's meta for export files a test makes by hand: generation 4, nothing journaled, these plugin records. */
export function exportMeta(plugins: SnapshotMeta['plugins'] = {}): SnapshotMeta {
  return {
    format: FORMAT_VERSION,
    generation: 4,
    slot: 1,
    takenAt: 1_700_000_000_000,
    journalSeq: 0,
    newestTimestamp: 0,
    publishers: {},
    plugins,
  };
}
