import pino from 'pino';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Snapshotter } from '../../snapshots/snapshotter.js';
import type { SnapshotReport } from '../../snapshots/snapshotter-options.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Intake } from '../../src/intake.js';
import { SnapshotCycle, type SnapshotCycleDeps } from '../../src/snapshot-cycle.js';

export interface CycleRig {
  readonly store: DataStore;
  readonly journal: Journal;
  /** The cycle's log lines, parsed. */
  readonly logs: Record<string, unknown>[];
  /** A cycle over these parts; `deps` replaces any of them (pacing hooks, say). */
  cycle(deps?: Partial<SnapshotCycleDeps>): SnapshotCycle;
  /** Stops the journal's retries and closes the store. */
  close(): Promise<void>;
}

/**
 * A real snapshot cycle's parts, no plugins: a real store and journal on `dataDir`, `prepare`
 * writing what they start with, and a real snapshotter whose every take() calls `afterTake` once
 * its snapshot is on disk. Nothing is accepted meanwhile: all a cycle asks of intake is that it
 * is settled.
 */
export async function cycleRig(
  dataDir: string,
  flags: Record<string, unknown>,
  prepare: (store: DataStore, journal: Journal) => Promise<void>,
  options: { readonly level?: string; readonly afterTake?: (report: SnapshotReport) => void } = {},
): Promise<CycleRig> {
  const config = loadConfig({ env: {}, flags: { dataDir, ...flags } });
  const store = new DataStore(dataDir, { probeAfterMs: 100 });
  const journal = new Journal(store, { dedupeWindow: 100, onWriteError: () => undefined });
  await prepare(store, journal);
  const snapshotter = new Snapshotter(
    [],
    store,
    {
      slots: config.snapshotGenerations,
      now: () => Date.now(),
      position: () => ({ journalSeq: journal.position, newestTimestamp: 0, publishers: {} }),
    },
    { meta: null, migrated: [], retained: {} },
  );
  const take = snapshotter.take.bind(snapshotter);
  snapshotter.take = async (takeOptions): Promise<SnapshotReport> => {
    const report = await take(takeOptions);
    options.afterTake?.(report);
    return report;
  };
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: options.level ?? 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const intake = { settled: () => Promise.resolve(), newestTimestamp: 0 } as unknown as Intake;
  return {
    store,
    journal,
    logs,
    cycle: (deps = {}) =>
      new SnapshotCycle({
        config,
        log,
        clock: systemClock,
        store,
        journal,
        intake,
        snapshotter,
        running: () => true,
        ...deps,
      }),
    close: async () => {
      journal.stopRetrying();
      await store.close();
    },
  };
}
