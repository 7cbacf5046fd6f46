import type { RestoreReport } from '../snapshots/restore.js';
import type { Logger } from './logger.js';

/** What a start restored, fell back from, dropped and kept aside, in the log an operator reads first. */
export function logRestore(
  log: Logger,
  restored: RestoreReport,
  futureRowsDropped: Readonly<Record<string, number>>,
  boundsEvicted: Readonly<Record<string, number>> = {},
): void {
  for (const f of restored.fallbacks)
    log.error(
      { slot: f.slot, generation: f.generation, reason: f.reason },
      'snapshot generation unreadable; falling back to an older one',
    );
  const rows = Object.values(restored.restored).reduce((a, b) => a + b, 0);
  if (restored.meta)
    log.info(
      {
        generation: restored.meta.generation,
        journalSeq: restored.meta.journalSeq,
        plugins: Object.keys(restored.restored).length,
        rows,
        migrated: restored.migrated,
      },
      'restored snapshot',
    );
  else
    log.info(
      { fallbacks: restored.fallbacks.length },
      'no readable snapshot; starting empty and replaying the journal',
    );
  for (const [plugin, rows] of Object.entries(futureRowsDropped))
    log.error(
      { plugin, rows },
      'restored rows dated ahead of the clock dropped (written before timestamps were bounded)',
    );
  // Plugins loaded again are caught up from the journal and logged then (catch-up.ts logCatchUp).
  for (const [plugin, entries] of Object.entries(boundsEvicted))
    log.info(
      { plugin, entries },
      'restored entries past the retention or --plugin-max-keys evicted (lowered since they were written)',
    );
  for (const [ident, rec] of Object.entries(restored.retained))
    log.warn(
      { plugin: ident, rows: rec.rows },
      'state on disk for a plugin that is not loaded; kept untouched (removed for good: statscache snapshot drop-plugin <ident> drops it)',
    );
}
