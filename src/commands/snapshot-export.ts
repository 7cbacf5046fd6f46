import { resolve } from 'node:path';
import { Journal } from '../../snapshots/journal.js';
import type { Envelope } from '../envelope.js';
import type { DataStore } from '../../snapshots/lmdb-store.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { type CommandIO, CommandError, commandConfig, type DataDirOptions, openStore } from './common.js';
import { isDecimal } from '../http/query-params.js';
import { checkExportTarget, writeExportFile } from './export-file.js';
import { encodeExport } from './export-format.js';
import { newestGood } from './generations.js';
import { inSeqRanges } from '../../snapshots/replay-skip.js';
import { refuseNewerFormat, slotCandidates } from '../../snapshots/restore.js';

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
  // Decimal text only: Number("") is 0, which carried no journal at all.
  if ((opts.journalTail !== undefined && !isDecimal(opts.journalTail.trim())) || !Number.isFinite(tail) || tail < 0)
    throw new CommandError(`--journal-tail ${JSON.stringify(opts.journalTail)} must be a number of seconds >= 0`, 2);
  const target = resolve(file);
  // Refused before the store is checked (a child process) and read: the data is not the mistake.
  checkExportTarget(target);
  const store = openStore(config.dataDir, { readOnly: true });
  try {
    const built = buildExport(store, new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined }), tail);
    for (const s of built.skipped) io.err(`statscache: skipped damaged ${s}\n`);
    if (!built.export)
      throw new CommandError(
        // Named for both cases: journal replay alone was suggested, which a running service's lock refuses.
        `no readable snapshot generation in ${config.dataDir}; nothing to export: while the service runs, take one with \`statscache snapshot take\` (or wait for the next --snapshot-interval); with it stopped, \`statscache journal replay --from 0\` rebuilds one from the journal`,
      );
    const { bytes, meta, plugins, entries, journalMessages } = built.export;
    const how = writeExportFile(target, bytes);
    // Streamed (a pipe, /dev/stdout): the line goes to stderr, never into the export.
    (how === 'streamed' ? io.err : io.out)(
      `exported generation ${meta.generation} (journal seq ${meta.journalSeq}, ${plugins} plugins, ${entries} entries, ${journalMessages} journal messages) to ${target} (${bytes.byteLength} bytes)\n`,
    );
    return 0;
  } finally {
    void store.close();
  }
}

export interface BuiltExport {
  readonly bytes: Buffer;
  readonly meta: SnapshotMeta;
  readonly plugins: number;
  readonly entries: number;
  readonly journalMessages: number;
}

/**
 * The newest good generation of `store` as export bytes, with the journal's last `tail`
 * seconds up to that generation (the CLI's `snapshot export` and the peer route
 * `GET /admin/export` share it); `export` is null when no generation is readable.
 */
export function buildExport(
  store: DataStore,
  journal: Pick<Journal, 'byTime'>,
  tail: number,
): { export: BuiltExport | null; skipped: readonly string[] } {
  // A newer statscache's newest state is not this one's to export: passed over as damage, an
  // older generation (or none) went out as if it were the data dir's state.
  const { candidates, newer } = slotCandidates(store);
  refuseNewerFormat(newer, candidates[0]?.meta.generation ?? null);
  const good = newestGood(store);
  if (!good) return { export: null, skipped: [] };
  const { replaySkip = [], ...meta } = good.content.meta;
  const { plugins } = good.content;
  const journalTail: Envelope[] = [];
  if (meta.newestTimestamp > 0 && tail > 0) {
    // The tail is the state's messages of the window: those at or before journalSeq, and those
    // after it the state holds already (replaySkip: this journal's numbering, not carried out).
    for (const entry of journal.byTime(meta.newestTimestamp - tail, meta.newestTimestamp, 'asc'))
      if (entry.seq <= meta.journalSeq || inSeqRanges(replaySkip, entry.seq)) journalTail.push(entry.envelope);
  }
  const bytes = encodeExport({
    kind: 'statscache-snapshot',
    exportedAt: Date.now(),
    meta,
    plugins,
    journalTail,
    journalTailSeconds: tail,
  });
  const entries = Object.values(plugins).reduce(
    (n, p) => n + p.rows.length + Object.values(p.stores).reduce((m, s) => m + s.length, 0),
    0,
  );
  return {
    export: { bytes, meta, plugins: Object.keys(plugins).length, entries, journalMessages: journalTail.length },
    skipped: good.skipped,
  };
}
