import { type HostOptions, PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { restore, type RestoreReport } from '../../snapshots/restore.js';
import { Snapshotter, type SnapshotterOptions } from '../../snapshots/snapshotter.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples } from './fixtures.js';
import { tempDir } from './service-process.js';

export interface PersistenceSession {
  readonly host: PluginHost;
  readonly store: DataStore;
  readonly report: RestoreReport;
  readonly snapshotter: Snapshotter;
  close(): Promise<void>;
}

/**
 * Plugins restored from a real LMDB data dir with a snapshotter attached: what the service
 * does at start, without the bus or HTTP. `journalSeq` stands in for the journal position.
 */
export function openSession(
  dir: string,
  definitions: readonly unknown[],
  options: {
    slots?: number;
    journalSeq?: () => number;
    chunk?: Pick<SnapshotterOptions, 'chunkEntries' | 'onYield'>;
    /** The snapshotter's clock (epoch ms; a generation's takenAt); 0 by default. */
    now?: () => number;
    /** The runtimes' options (quarantine thresholds, key caps). */
    host?: HostOptions;
  } = {},
): PersistenceSession {
  const host = new PluginHost(registerPlugins(definitions), () => {}, options.host);
  const store = new DataStore(dir);
  let report: RestoreReport;
  try {
    report = restore(host.runtimes, store);
  } catch (err) {
    host.stop();
    void store.close();
    throw err;
  }
  const snapshotter = new Snapshotter(
    host.runtimes,
    store,
    {
      slots: options.slots ?? 3,
      now: options.now ?? (() => 0),
      position: () => ({ journalSeq: options.journalSeq?.() ?? 0, newestTimestamp: 0, publishers: {} }),
      ...options.chunk,
    },
    report,
  );
  return {
    host,
    store,
    report,
    snapshotter,
    close: async () => {
      host.stop();
      await store.close();
    },
  };
}

/**
 * A journal on a fresh LMDB data dir (removed by the caller's cleanup through `dirs`); a write
 * error fails the test instead of being counted.
 */
export function openJournal(dirs: { remove(): void }[]): { dir: string; store: DataStore; journal: Journal } {
  const d = tempDir();
  dirs.push(d);
  const store = new DataStore(d.path);
  const journal = new Journal(store, {
    dedupeWindow: 1000,
    onWriteError: (err) => {
      throw err;
    },
  });
  return { dir: d.path, store, journal };
}

/**
 * A data dir holding the first `count` fixture messages, re-dated to now, and one snapshot of
 * them, written by a real Service that is then closed (what the child-process tests read).
 */
export async function snapshottedDataDir(dataDir: string, count: number): Promise<void> {
  const service = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir, port: 0 } }),
    logger: createLogger('silent'),
  });
  for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, count)) service.accept(m as never);
  await service.settled();
  await service.snapshot();
  await service.close();
}
