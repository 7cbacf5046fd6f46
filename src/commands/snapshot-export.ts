import { resolve } from 'node:path';
import { Journal } from '../../snapshots/journal.js';
import type { Envelope } from '../envelope.js';
import { type CommandIO, CommandError, commandConfig, type DataDirOptions, openStore } from './common.js';
import { encodeExport, writeFileAtomic } from './export-format.js';
import { newestGood } from './generations.js';

/** Journal seconds carried with the state by default: twice the backfill overlap, so a backfill after import de-duplicates. */
export const tailSeconds = (backfillOverlap: number): number => Math.max(600, 2 * backfillOverlap);

/** `snapshot export <file>`: the newest good generation as a portable, versioned, checksummed file. */
export function runSnapshotExport(
  file: string,
  opts: DataDirOptions & { journalTail?: string },
  io: CommandIO,
): number {
  const config = commandConfig(opts);
  const tail = opts.journalTail === undefined ? tailSeconds(config.backfillOverlap) : Number(opts.journalTail);
  if (!Number.isFinite(tail) || tail < 0)
    throw new CommandError(`--journal-tail ${JSON.stringify(opts.journalTail)} must be a number of seconds >= 0`, 2);
  const store = openStore(config.dataDir, { readOnly: true });
  try {
    const good = newestGood(store);
    for (const s of good?.skipped ?? []) io.err(`statscache: skipped damaged ${s}\n`);
    if (!good)
      throw new CommandError(
        `no readable snapshot generation in ${config.dataDir}; nothing to export (statscache journal replay can rebuild one from the journal)`,
      );
    const { meta, plugins } = good.content;
    // The journal is read-only here: only its reads are used (dedupeWindow/onWriteError are for writers).
    const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
    const journalTail: Envelope[] = [];
    if (meta.newestTimestamp > 0 && tail > 0) {
      for (const entry of journal.byTime(meta.newestTimestamp - tail, meta.newestTimestamp, 'asc'))
        if (entry.seq <= meta.journalSeq) journalTail.push(entry.envelope);
    }
    const bytes = encodeExport({ kind: 'statscache-snapshot', exportedAt: Date.now(), meta, plugins, journalTail });
    const target = resolve(file);
    writeFileAtomic(target, bytes);
    const entries = Object.values(plugins).reduce(
      (n, p) => n + p.rows.length + Object.values(p.stores).reduce((m, s) => m + s.length, 0),
      0,
    );
    io.out(
      `exported generation ${meta.generation} (journal seq ${meta.journalSeq}, ${Object.keys(plugins).length} plugins, ${entries} entries, ${journalTail.length} journal messages) to ${target} (${bytes.byteLength} bytes)\n`,
    );
    return 0;
  } finally {
    void store.close();
  }
}
