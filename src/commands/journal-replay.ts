import type { DataStore } from '../../snapshots/lmdb-store.js';
import { refuseNewerFormat, slotCandidates } from '../../snapshots/restore.js';
import { BadParameter, parseTime } from '../http/history-params.js';
import { assembleCore } from '../core.js';
import { pluginsForConfig } from '../plugin-loader.js';
import {
  type CommandIO,
  CommandError,
  commandConfig,
  type DataDirOptions,
  isoTime,
  lockForCommand,
  openStore,
  writeOrFail,
} from './common.js';
import { listSlots } from './generations.js';
import { markNotLoaded } from '../../snapshots/not-loaded.js';

export interface ReplayOptions extends DataDirOptions {
  readonly from: string;
  readonly force?: boolean;
  /** Milliseconds between progress lines (tests shorten it). */
  readonly progressEveryMs?: number;
}

/**
 * `journal replay --from <time>`: rebuilds every plugin's state offline, starting empty and
 * applying the journal's messages with timestamp >= from in journal order (the order the
 * service applied them), then writes the result as a new snapshot generation covering the
 * whole journal, which the next start restores.
 */
export async function runJournalReplay(opts: ReplayOptions, io: CommandIO): Promise<number> {
  let from: number;
  try {
    from = parseTime('--from', opts.from);
  } catch (err) {
    if (err instanceof BadParameter) throw new CommandError(err.message.replace('parameter "--from"', '--from'), 2);
    throw err;
  }
  const config = commandConfig(opts);
  // A time ahead of the clock selects no message: the rebuild would be empty state, written as
  // the newest generation (milliseconds for seconds did that, exit 0).
  const ahead = from - Date.now() / 1000;
  if (ahead > config.maxClockSkew)
    throw new CommandError(
      `--from ${JSON.stringify(opts.from)} is ${Math.round(ahead)} s ahead of the clock: no message is that new (epoch seconds, not milliseconds, or an ISO date)`,
      2,
    );
  // The same plugins serve runs, external ones included: replaying without them wiped their state.
  const definitions = await pluginsForConfig(config, opts.config);
  const lock = lockForCommand(config.dataDir, 'journal replay', { mustExist: true });
  let rw: DataStore;
  try {
    rw = openStore(config.dataDir, { readOnly: false, mustExist: true, io });
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    // A newer statscache's journal and state are not this one's to rebuild (nor overwrite).
    const { candidates, newer } = slotCandidates(rw);
    refuseNewerFormat(newer, candidates[0]?.meta.generation ?? null);
  } catch (err) {
    await rw.close();
    lock.release();
    throw err;
  }
  let pluginErrors = 0;
  // Every existing slot is rewritten whole (slot -1 matches none): no stale key of an older generation survives.
  const newestMeta = listSlots(rw).find((s) => s.ok);
  const base = newestMeta?.ok ? { ...newestMeta.meta, slot: -1 } : null;
  // Plugins not configured now keep their records and entries (those of the newest generation), as serve keeps them;
  // assembleCore leaves out the plugins loaded here, which are rebuilt.
  const retained = newestMeta?.ok
    ? {
        // Marked as restore marks them, so the start that loads one again says where its state stopped.
        retained: Object.fromEntries(
          Object.entries(newestMeta.meta.plugins).map(([ident, r]) => [ident, markNotLoaded(r, newestMeta.meta)]),
        ),
        retainedSlot: newestMeta.slot,
      }
    : { retained: {} };
  // The service's own core and intake path, so an offline rebuild applies messages exactly as a live start replays them.
  const { host, journal, intake, snapshotter } = assembleCore({
    config,
    store: rw,
    plugins: definitions,
    now: () => Date.now(),
    restore: { base: { meta: base, restored: {}, migrated: [], ...retained, fallbacks: [] } },
    events: { pluginError: () => void pluginErrors++ },
  });
  try {
    const first = journal.firstRetained;
    const last = journal.position;
    const total = first === 0 ? 0 : last - first + 1;
    if (first === 0 && last > 0)
      io.err(
        `statscache: the journal holds no entries: retention trimmed all ${last} of them (each covered by a snapshot)\n`,
      );
    if (first > 1) {
      const oldest = journal.get(first);
      io.err(
        `statscache: the journal starts at seq ${first}${oldest ? ` (${isoTime(oldest.envelope.timestamp * 1000)})` : ''}: older messages were truncated and are not in the rebuilt state\n`,
      );
    }
    io.err(
      `replaying ${total} journal entries (seq ${first}..${last}) with timestamp >= ${isoTime(from * 1000)} into empty state\n`,
    );

    const started = performance.now();
    const every = opts.progressEveryMs ?? 1000;
    let lastPrint = started;
    let seen = 0;
    let applied = 0;
    for (const entry of journal.after(first > 0 ? first - 1 : 0, { remember: false })) {
      seen++;
      if (entry.envelope.timestamp >= from) {
        intake.replay(entry);
        applied++;
      }
      const now = performance.now();
      if (now - lastPrint >= every) {
        lastPrint = now;
        io.err(
          `  ${seen}/${total} (${total > 0 ? Math.floor((100 * seen) / total) : 100}%), ${Math.round(seen / ((now - started) / 1000))} msg/s\n`,
        );
      }
    }
    intake.applyQueued();
    // Messages there were, and --from passed over every one.
    if (applied === 0 && seen > 0)
      throw new CommandError(
        `no journal message has a timestamp >= ${isoTime(from * 1000)} (${seen} read): nothing was written, the newest generation stays as it is (an empty rebuild would replace every plugin's state with nothing)`,
        2,
      );
    // None left to read (retention trimmed them, or none came), while the newest generation
    // holds state for plugins rebuilt here: rebuilt from nothing, they would start empty.
    const wiped = newestMeta?.ok
      ? host.idents.filter((ident) => {
          const rec = newestMeta.meta.plugins[ident];
          return rec !== undefined && (rec.rows > 0 || Object.values(rec.entries ?? {}).some((n) => n > 0));
        })
      : [];
    if (applied === 0 && wiped.length > 0)
      throw new CommandError(
        `the journal holds no message to replay (${last > 0 ? `all ${last} journaled were trimmed by retention` : 'none journaled'}), while the newest generation holds state for ${wiped.join(', ')}: nothing was written, the newest generation stays as it is (an empty rebuild would replace that state with nothing)`,
        2,
      );
    const seconds = Math.max((performance.now() - started) / 1000, 1e-9);

    const report = await writeOrFail(config.dataDir, 'journal replay', () => snapshotter.take());
    const rate = Math.round(seen / seconds);
    io.out(
      `replayed ${applied} messages (${seen - applied} older than --from skipped${journal.corrupt > 0 ? `, ${journal.corrupt} damaged records skipped` : ''}${pluginErrors > 0 ? `, ${pluginErrors} plugin update errors` : ''}) ` +
        `in ${(seconds * 1000).toFixed(0)} ms, ${rate} msg/s; wrote generation ${report.generation} (slot ${report.slot}, journal seq ${report.journalSeq}, ${report.written} entries); the next start restores it\n`,
    );
    return journal.corrupt > 0 ? 1 : 0;
  } finally {
    host.stop();
    await rw.close();
    lock.release();
  }
}
