import { StatscacheError } from '../../actors/errors.js';
import { registerPlugins } from '../../actors/registry.js';
import { encodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import type { DataStore } from '../../snapshots/lmdb-store.js';
import { notLoadedAfterOf } from '../../snapshots/not-loaded.js';
import { refuseNewerFormat, slotCandidates } from '../../snapshots/restore.js';
import { pluginsForConfig } from '../plugin-loader.js';
import {
  closeStoreAndLock,
  type CommandIO,
  commandConfig,
  type DataDirOptions,
  lockForCommand,
  openStore,
  writeOrFail,
} from './common.js';

/**
 * `snapshot drop-plugin <ident>`: drops the state kept for a plugin taken out of the config for
 * good, from every generation that holds it, so starts stop warning about it (restore-log.ts)
 * and generations stop carrying it. Refused for a plugin the config loads (its state is live:
 * take it out of the config first) and for one no generation holds (a typo), before the data
 * dir is written; refused while the service runs, by the data dir lock.
 */
export async function runSnapshotDropPlugin(ident: string, opts: DataDirOptions, io: CommandIO): Promise<number> {
  const config = commandConfig(opts);
  // Loaded as serve loads them, so an external plugin of the config counts as loaded too.
  const loaded = registerPlugins(await pluginsForConfig(config, opts.config)).map((p) => p.ident);
  if (loaded.includes(ident))
    throw new StatscacheError(
      'SC_PLUGIN_STATE_LOADED',
      `plugin "${ident}" is loaded by this config${opts.config ? ` (${opts.config})` : ''}: its state is the live one, not kept state; take it out of the config (and pass that config with --config) before dropping its state; nothing was changed`,
    );
  const lock = lockForCommand(config.dataDir, 'snapshot drop-plugin', { mustExist: true });
  let store: DataStore;
  try {
    store = openStore(config.dataDir, { readOnly: false, mustExist: true, io });
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    const { candidates, newer } = slotCandidates(store);
    // A newer statscache's generations are not this one's to rewrite.
    refuseNewerFormat(newer, candidates[0]?.meta.generation ?? null);
    const holding = candidates.filter(
      ({ slot, meta }) => ident in meta.plugins || store.identsIn(slot).includes(ident),
    );
    if (holding.length === 0) {
      const kept = [...new Set(candidates.flatMap(({ meta }) => Object.keys(meta.plugins)))].filter(
        (i) => !loaded.includes(i),
      );
      throw new StatscacheError(
        'SC_PLUGIN_STATE_UNKNOWN',
        `no snapshot generation in ${config.dataDir} holds state for plugin "${ident}"; ${kept.length > 0 ? `kept state of plugins not loaded: ${kept.map((i) => `"${i}"`).join(', ')}` : 'no plugin that is not loaded has kept state'}; nothing was changed`,
      );
    }
    const newest = candidates[0]?.meta;
    const record = newest?.plugins[ident];
    const mark = record ? notLoadedAfterOf(record) : null;
    const entries = Object.values(holding[0]?.meta.plugins[ident]?.entries ?? {}).reduce((a, b) => a + b, 0);
    await writeOrFail(config.dataDir, 'snapshot drop-plugin', () =>
      store.writeSnapshot((batch) => {
        for (const { slot, meta } of holding) {
          const { [ident]: _dropped, ...plugins } = meta.plugins;
          batch.clear(slot, ident);
          const next: SnapshotMeta = { ...meta, plugins };
          batch.putMeta(slot, encodeChecked(next));
        }
      }),
    );
    const generations = holding.map(({ meta, slot }) => `${meta.generation} (slot ${slot})`).join(', ');
    io.out(
      `dropped the state of plugin "${ident}" (${entries} entries in the newest) from generation${holding.length > 1 ? 's' : ''} ${generations}` +
        `${mark ? `; it was kept since journal seq ${mark.journalSeq}` : record ? '; the newest generation was written with it loaded' : ''}` +
        `; a start without it no longer warns, and one that loads it again builds it from the journal\n`,
    );
    return 0;
  } finally {
    await closeStoreAndLock(store, lock);
  }
}
