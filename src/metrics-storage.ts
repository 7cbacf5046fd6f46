/**
 * Journal and snapshot metrics: journal positions and the accept-to-apply delay (the journal
 * commit), the last snapshot, damage and waits on disk with how de-duplication reads the id
 * index, and GET /admin/export's builds.
 */
import type { KnownIdsStats } from '../snapshots/known-ids.js';
import type { SnapshotReport } from '../snapshots/snapshotter.js';
import type { MetricMaker, MetricsSources } from './metrics-sources.js';

/** Registers journal positions, the commit delay and the last snapshot. */
export function journalMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (sources.journalSeq) {
    const seq = sources.journalSeq;
    gauge('statscache_journal_last_seq', 'Sequence number of the newest message accepted into the journal', [], (set) =>
      set({}, seq().accepted),
    );
    // Plugins apply a batch once LMDB has committed it: the difference is what /raw shows and the views do not yet.
    gauge(
      'statscache_journal_applied_seq',
      'Sequence number of the newest journaled message the plugins have applied (statscache_journal_last_seq minus this is the apply lag in messages)',
      [],
      (set) => set({}, seq().applied),
    );
  }

  if (sources.commitDelay) {
    const delay = sources.commitDelay;
    // Plugins apply a message only after its journal batch commits: this is what that costs.
    fromCounters(
      'statscache_apply_delay_seconds_sum',
      'Seconds from accepting messages to applying them (the journal commit), summed',
      [],
      (set) => set({}, delay().totalMs / 1000),
    );
    fromCounters('statscache_apply_delay_seconds_count', 'Messages applied after their journal commit', [], (set) =>
      set({}, delay().count),
    );
    gauge('statscache_apply_delay_max_seconds', 'Longest accept-to-apply delay seen', [], (set) =>
      set({}, delay().maxMs / 1000),
    );
    // Each batch costs the main thread about the same whatever its size: how well intake batches.
    fromCounters(
      'statscache_journal_batches_total',
      'Journal batches committed and applied, one LMDB transaction each (statscache_apply_delay_seconds_count over this is the mean batch size; --bus-linger raises it at a trickle)',
      [],
      (set) => set({}, delay().batches),
    );
  }

  const snapshot = (name: string, help: string, read: (r: SnapshotReport) => number) =>
    gauge(name, help, [], (set) => {
      const last = sources.lastSnapshot();
      if (last !== null) set({}, read(last));
    });
  snapshot('statscache_snapshot_duration_seconds', 'Duration of the last snapshot', (r) => r.durationMs / 1000);
  snapshot('statscache_snapshot_bytes', 'Bytes written by the last snapshot', (r) => r.bytes);
  snapshot('statscache_snapshot_entries_written', 'Entries written by the last snapshot', (r) => r.written);
  snapshot('statscache_snapshot_generation', 'Generation of the last snapshot', (r) => r.generation);
}

/** Registers damage, unwritten records, disk waits and de-duplication (with sources.storage). */
export function storageMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (sources.storage) {
    const storage = sources.storage;
    fromCounters(
      'statscache_journal_corrupt_records_total',
      'Journal records skipped because they failed their checksum (messages lost)',
      [],
      (set) => set({}, storage().journalCorrupt),
    );
    fromCounters(
      'statscache_data_file_quarantined_total',
      'Damaged LMDB data files moved to quarantine at start-up',
      [],
      (set) => set({}, storage().quarantined),
    );
    gauge(
      'statscache_data_file_quarantine_folders',
      'Quarantine folders in the data dir (each a damaged data file moved aside, by serve, journal replay or snapshot import): stays until an operator removes them',
      [],
      (set) => set({}, storage().quarantineFolders),
    );
    gauge(
      'statscache_journal_unwritten_records',
      'Accepted messages whose journal commit failed (a full disk): held in memory for another try, or dropped from that hold and on disk only at the next snapshot. A restart loses them until then',
      ['state'],
      (set) => {
        const { held, dropped } = storage().unwritten;
        set({ state: 'held' }, held);
        set({ state: 'dropped' }, dropped);
      },
    );
    gauge(
      'statscache_disk_write_pending_seconds',
      'How long the oldest journal commit not yet settled (write="journal") and the snapshot write in progress (write="snapshot") have waited on the disk, 0 when none waits; past --disk-hang-timeout /readyz answers 503 (a hung disk returns no error)',
      ['write'],
      (set) => {
        const waiting = storage().writesWaiting;
        set({ write: 'journal' }, (waiting?.journal ?? 0) / 1000);
        set({ write: 'snapshot' }, (waiting?.snapshot ?? 0) / 1000);
      },
    );
    fromCounters(
      'statscache_snapshot_failures_total',
      'Snapshots that failed (the changes are kept for the next one)',
      [],
      (set) => set({}, storage().snapshotFailures),
    );
    const dedupeCounters: readonly (readonly [string, string, Exclude<keyof KnownIdsStats, 'filterBytes'>])[] = [
      [
        'statscache_dedupe_index_reads_total',
        "Reads of the journal's id index to tell a new message from a duplicate (duplicates, filter false positives, and every new id until the filter is built)",
        'indexReads',
      ],
      [
        'statscache_dedupe_filter_skips_total',
        'New message ids the in-memory id filter settled without reading the id index',
        'filterSkips',
      ],
      [
        'statscache_dedupe_filter_builds_total',
        'Id filters filled from the id index (at start-up, then whenever the last outgrew its size)',
        'filterBuilds',
      ],
      [
        'statscache_dedupe_filter_build_failures_total',
        'Id filter builds that could not read the id index (none is tried after one; the filter in use, if any, keeps answering)',
        'filterBuildFailures',
      ],
    ];
    for (const [name, help, stat] of dedupeCounters)
      fromCounters(name, help, [], (set) => set({}, storage().dedupe[stat]));
    gauge('statscache_dedupe_filter_bytes', 'Memory of the id filter in use (0: not built yet)', [], (set) =>
      set({}, storage().dedupe.filterBytes),
    );
  }
}

/** Registers GET /admin/export's builds (with sources.exports): running now, and ended by outcome. */
export function exportMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (!sources.exports) return;
  const exports = sources.exports;
  gauge(
    'statscache_exports_in_progress',
    'GET /admin/export exports being built now, each by a child process (requests that arrive meanwhile share it)',
    [],
    (set) => set({}, exports().inProgress),
  );
  fromCounters(
    'statscache_exports_total',
    'GET /admin/export exports built, by outcome: built, no_snapshot (no readable generation: 503), timed_out (the child killed at its 10-minute bound), too_large (over 1 GiB), failed (the child failed or was killed)',
    ['outcome'],
    (set) => {
      for (const [outcome, n] of Object.entries(exports().ended)) set({ outcome }, n);
    },
  );
}
