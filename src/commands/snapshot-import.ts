import { foreignMarks } from '../../snapshots/not-loaded.js';
import { resolve } from 'node:path';
import type { DataStore } from '../../snapshots/lmdb-store.js';
import { encodeChecked } from '../../snapshots/codec.js';
import { remapHungMessages } from '../../snapshots/hung-messages.js';
import { FORMAT_VERSION, type SnapshotMeta } from '../../snapshots/format.js';
import { Journal } from '../../snapshots/journal.js';
import {
  type CommandIO,
  CommandError,
  closeStoreAndLock,
  commandConfig,
  type DataDirOptions,
  lockForCommand,
  openStore,
  writeOrFail,
} from './common.js';
import { decodeExport, ExportFileError, type ExportPayload } from './export-format.js';
import { readExportFile } from './export-read.js';
import { coveredWithoutIds, ownMessagesNotIn } from './import-coverage.js';
import type { Config } from '../config.js';
import { checkTimestamp } from '../envelope-limits.js';
import type { Envelope } from '../envelope.js';
import { pluginsForConfig } from '../plugin-loader.js';
import { registerPlugins, type RegisteredPlugin } from '../../actors/registry.js';
import { nextGeneration } from './generations.js';
import { slotCandidates } from '../../snapshots/restore.js';
import { afterMoves } from '../../snapshots/replay-skip.js';
import { shapeChanges, shapeOf } from '../../snapshots/plugin-shape.js';

/**
 * `snapshot import <file>`: verifies an export and writes it as the newest generation of the
 * data dir, so the next start restores it. The exported journal tail is appended to the
 * journal (skipping ids it already holds) and the imported state replaces what was there;
 * the data dir's own messages that state lacks (ownMessagesNotIn) are moved after the new
 * generation's journalSeq, so the next start replays them on top of it.
 */
export async function runSnapshotImport(
  file: string,
  opts: DataDirOptions & { force?: boolean },
  io: CommandIO,
): Promise<number> {
  const config = commandConfig(opts);
  const path = resolve(file);
  let payload: ReturnType<typeof decodeExport>;
  try {
    payload = decodeExport(readExportFile(path));
  } catch (err) {
    if (err instanceof ExportFileError)
      throw new CommandError(`refusing to import ${path}: ${err.message}; nothing was written`);
    if ((err as NodeJS.ErrnoException).code !== undefined)
      throw new CommandError(`cannot read ${path}: ${(err as Error).message}`);
    throw err;
  }
  const tooNew = stateTooNew(payload, registerPlugins(await pluginsForConfig(config, opts.config)));
  if (tooNew !== null) throw new CommandError(`refusing to import ${path}: ${tooNew}; nothing was written`);
  return importPayload(payload, path, config, io, Date.now() / 1000);
}

/**
 * Why restore would refuse this export at the next start (state a newer plugin version wrote
 * than the code knows: SC_SNAPSHOT_TOO_NEW; state of the same version written with other key
 * columns, columns or stores: SC_SNAPSHOT_SHAPE_CHANGED), or null. Checked before anything is
 * written, so a refused import never leaves a data dir the service cannot start on. Plugins not
 * loaded now are not checked: their state is kept aside, never read.
 */
export function stateTooNew(payload: ExportPayload, plugins: readonly RegisteredPlugin[]): string | null {
  const problems = plugins.flatMap((p) => {
    const record = payload.meta.plugins[p.ident];
    if (!record) return [];
    if (record.version > p.version)
      return [
        `plugin "${p.ident}" has state version ${record.version} but this statscache knows version ${p.version} (import it with a newer statscache)`,
      ];
    const changes = record.version === p.version ? shapeChanges(record, shapeOf(p)) : [];
    return changes.length === 0
      ? []
      : [
          `plugin "${p.ident}" has state of its version ${p.version} written with another shape: ${changes.join('; ')} (import it where the plugin's definition that wrote it is loaded, or bump the plugin's version with a migrate hook)`,
        ];
  });
  return problems.length === 0 ? null : problems.join('; ');
}

/**
 * Writes a verified export into `config.dataDir` as its newest generation (the journal tail
 * appended, skipping ids already held; the data dir's own messages the export lacks moved
 * after it, to be replayed on top), under the data dir lock. Shared by `snapshot import` and
 * `--bootstrap` (src/bootstrap.ts); `source` names where the export came from.
 */
export async function importPayload(
  given: ExportPayload,
  source: string,
  config: Pick<Config, 'dataDir' | 'snapshotGenerations' | 'maxClockSkew'>,
  io: CommandIO,
  nowSeconds: number,
): Promise<number> {
  const path = source;
  // Live intake refuses these (future_timestamp): journaled, one would move every plugin's
  // retention to its date and evict all real history. The rest of the export is still taken.
  // Read by intake's unit rule (milliseconds, microseconds): a journal an older statscache wrote
  // holds such stamps as sent, and its replay converts them; read as seconds, they were skipped.
  const ahead = (e: Envelope) => !checkTimestamp(e.timestamp, nowSeconds, config.maxClockSkew).ok;
  const kept = given.journalTail.filter((e) => !ahead(e));
  const skipped = given.journalTail.length - kept.length;
  const payload = skipped === 0 ? given : { ...given, journalTail: kept };
  // A start takes the state's time of writing as the clock it was dated by (clockFloor in
  // src/core.ts), so rows dated up to then survive its drop of future rows, and every retention
  // is then measured from them: said here, as the import cannot tell a wrong clock from a right one.
  const takenAhead = given.meta.takenAt / 1000 - nowSeconds;
  if (takenAhead > config.maxClockSkew)
    io.err(
      `warning: ${path} was taken ${Math.round(takenAhead)} s ahead of this machine's clock (at most ${config.maxClockSkew} s is allowed for messages): ` +
        `a start keeps its rows dated up to then, and each plugin with a retention evicts rows older than that retention behind its newest one; check the exporting host's clock\n`,
    );
  const lock = lockForCommand(config.dataDir, 'snapshot import');

  let store: DataStore;
  try {
    store = openStore(config.dataDir, { readOnly: false, io });
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    // Nothing is written through it: the tail goes in the generation's own transaction below.
    const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
    // Read before the tail is numbered: the tail's messages are in the exported state.
    const own = ownMessagesNotIn(payload, journal);
    // The newest message time among the records this dir's journal has trimmed (see heldTail).
    const trimmedThrough = journal.trimmedThrough;
    // Appended in the same transaction as the generation: a kill between the two used to leave
    // the tail without its state, which a start served as if complete (62,070 of 150,000).
    const tail = journal.recordsFor(payload.journalTail);
    const appended = tail.length;

    const generation = nextGeneration(store);
    // The file's own slot count when it holds more: an import run without the service's --config
    // (or STATSCACHE_SNAPSHOT_GENERATIONS) wrapped at the default 3 over a data dir kept at 5, and
    // could overwrite the newest generation, the one a damaged import falls back to.
    const slots = Math.max(config.snapshotGenerations, ...store.slots().map((s) => s + 1));
    const slot = generation % slots;
    // Another data dir's replaySkip names seqs of its journal, not of this one; its mark was
    // about that journal too (the export's tail window decides this one: coveredWithoutIds).
    const {
      replaySkip: _elsewhere,
      coveredThrough: _elsewhereMark,
      coveredAfter: _elsewhereEnd,
      ...exported
    } = payload.meta;
    const covered = coveredWithoutIds(payload);
    const meta: SnapshotMeta = {
      ...exported,
      // Its own mark, which a start that restores it after a fall back elsewhere sets again.
      ...(Number.isFinite(covered) ? { coveredThrough: covered } : {}),
      format: FORMAT_VERSION,
      generation,
      slot,
      journalSeq: journal.position,
      // A removed plugin's mark names a seq of the exporting journal: no catch-up from this one.
      plugins: foreignMarks(exported.plugins),
    };
    let entries = 0;
    // The new generation covers the whole journal, tail included: the data dir's own messages it lacks go after it.
    const moves = own.map((m, i) => ({ ...m, to: journal.position + 1 + i }));
    // The data dir's other generations hold some of the moved messages already (those at or
    // before their journalSeq): should this generation be unreadable, restore falls back to one
    // of them, and replaying the moved records on top counted those twice. Each is told, in the
    // same transaction, which of the new seqs it holds (SnapshotMeta.replaySkip).
    // The tail is appended skipping ids the journal holds, so a message this dir journaled and
    // trimmed since is appended again, after every older generation's journalSeq, though each
    // holds it (a trim drops only what every generation covers): fallen back to, one replayed
    // it on top (600 counted for 400). A tail message dated at or before the newest trimmed
    // one is taken as held, as backfill takes such a message as counted (backfill_before_journal).
    // The import sets the data dir's mark to what the imported state counts without ids
    // (covered), lower than before when the state is older: each older generation keeps the
    // mark that held for it (coveredThrough), which its restore sets the data dir's to again.
    // The journal's end once this import lands (the tail, then the moved records): what comes
    // after it dated within an older generation's mark came in under the lower one.
    const end = journal.position + moves.length;
    const older = slotCandidates(store).candidates.flatMap(({ slot: at, meta: m }) => {
      if (at === slot) return [];
      // Its own mark (and the trims since) when an import recorded one, else the data dir's.
      const mark =
        m.coveredThrough === undefined ? trimmedThrough : Math.max(m.coveredThrough, store.journalTrimsThrough());
      const heldTail = tail.filter((r) => r.timestamp <= mark).map((r) => r.seq);
      const replaySkip = afterMoves(m.journalSeq, m.replaySkip ?? [], moves, heldTail);
      // A mark recorded with its end stays as it is: raised (the trims since) over the earlier
      // end, it passed over what came in between dated within the rise, which that generation
      // never applied (200 of 201 counted). Its restore raises the data dir's mark to the trims
      // anyway (markRestored), so nothing dated within them comes in by backfill after it.
      const keepMark = m.coveredAfter === undefined && mark !== covered;
      if (replaySkip.length === 0 && !keepMark) return [];
      return [
        {
          slot: at,
          meta: {
            ...m,
            ...(replaySkip.length === 0 ? {} : { replaySkip }),
            ...(keepMark ? { coveredThrough: mark, coveredAfter: end } : {}),
          },
        },
      ];
    });
    await writeOrFail(config.dataDir, 'snapshot import', () =>
      store.writeSnapshotMovingJournal(
        moves,
        (batch) => {
          for (const ident of new Set([...store.identsIn(slot), ...Object.keys(payload.plugins)]))
            batch.clear(slot, ident);
          for (const [ident, stored] of Object.entries(payload.plugins)) {
            for (const [key, value] of stored.rows) batch.put(slot, ident, 'rows', key, encodeChecked(value));
            entries += stored.rows.length;
            for (const [name, pairs] of Object.entries(stored.stores)) {
              for (const [key, value] of pairs) batch.put(slot, ident, name, key, encodeChecked(value));
              entries += pairs.length;
            }
          }
          batch.putMeta(slot, encodeChecked(meta));
          for (const o of older) batch.putMeta(o.slot, encodeChecked(o.meta));
        },
        tail,
        covered,
      ),
    );
    // Hangs recorded against this journal's seqs follow the moved messages (or go with the rest).
    remapHungMessages(config.dataDir, moves);
    io.out(
      `imported ${path} (exported generation ${payload.meta.generation}) as generation ${generation} in slot ${slot} of ${config.dataDir}: ` +
        `${Object.keys(payload.plugins).length} plugins, ${entries} entries, ${appended} journal messages added (${payload.journalTail.length - appended} already present); ` +
        (skipped === 0
          ? ''
          : `${skipped} journal message${skipped === 1 ? '' : 's'} skipped: dated more than ${config.maxClockSkew} s ahead of this machine's clock (future_timestamp, as live intake refuses them); `) +
        `the next start restores it and replays ${moves.length} of this data dir's own messages the export lacks on top\n`,
    );
    return 0;
  } finally {
    await closeStoreAndLock(store, lock);
  }
}
