import type { SnapshotReport } from './snapshotter.js';

/**
 * A snapshot committed, whose whole-generation size walk (POST /admin/snapshot's
 * generationEntries and generationBytes) the service's close() ended before it was done. Not a
 * failure: the generation is on disk, as `report` says, and `snapshot list` sizes it. Without
 * it the walk read on from the closed store and the admin request answered 500 snapshot_failed
 * (MDB_BAD_TXN) for a snapshot that had been written.
 */
export class SnapshotUnmeasuredError extends Error {
  override readonly name: string = 'SnapshotUnmeasuredError';

  constructor(readonly report: SnapshotReport) {
    super(
      `generation ${String(report.generation)} was written (slot ${String(report.slot)}, journalSeq ${String(report.journalSeq)}), but measuring its whole size was cancelled because the service is closing: \`statscache snapshot list\` shows it`,
    );
  }
}
