/**
 * The snapshot cycle's steps after a snapshot (snapshot-cycle.ts): retiring slots past a lowered
 * --snapshot-generations, then trimming the journal. Both ran in one try with one message, so a
 * retirement the disk refused was logged as "journal trim failed": an operator looking at the
 * journal found nothing wrong with it. Each step now names itself; the trim keeps its message
 * (operators alert on it), and both are tried again after the next snapshot.
 *
 * A real cycle: a real store, journal and snapshotter (no plugins), the data file made immutable
 * (chattr +i: writes refused with EPERM, as on a file system remounted read-only) once the
 * snapshot is on disk, so the step after it is refused for real.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../snapshots/journal.js';
import { DATA_FILE, type DataStore } from '../../snapshots/lmdb-store.js';
import type { SnapshotCycle } from '../../src/snapshot-cycle.js';
import { immutableFiles, setImmutable } from '../helpers/immutable-file.js';
import { tempDir } from '../helpers/service-process.js';
import { cycleRig } from '../helpers/snapshot-cycle-rig.js';

const root = tempDir('statscache-refused-cycle-');
// Registered first, so it runs last: after immutableFiles has made every file writable again.
afterAll(() => root.remove());
const immutable = immutableFiles(root.path);

interface Cycle {
  readonly store: DataStore;
  readonly cycle: SnapshotCycle;
  readonly logs: Record<string, unknown>[];
  /** From now on, the data file refuses writes once a snapshot is on disk, until allowWrites(). */
  refuseAfterSnapshot(): void;
  allowWrites(): void;
  close(): Promise<void>;
}

/** A snapshot cycle on its own data dir; `prepare` writes what it starts with. */
async function cycleIn(
  name: string,
  flags: Record<string, unknown>,
  prepare: (store: DataStore, journal: Journal) => Promise<void>,
): Promise<Cycle> {
  const dataDir = join(root.path, name);
  const file = join(dataDir, DATA_FILE);
  immutable.track(file);
  let refusing = false;
  const rig = await cycleRig(dataDir, flags, prepare, {
    afterTake: () => {
      if (refusing) setImmutable(file, true);
    },
  });
  return {
    store: rig.store,
    cycle: rig.cycle(),
    logs: rig.logs,
    refuseAfterSnapshot: () => {
      refusing = true;
    },
    allowWrites: () => {
      refusing = false;
      setImmutable(file, false);
    },
    close: async () => {
      setImmutable(file, false);
      await rig.close();
    },
  };
}

const errors = (logs: readonly Record<string, unknown>[]) => logs.filter((l) => l['level'] === 50);

describe.skipIf(!immutable.supported)('a step after a snapshot that the data file refuses', () => {
  it('a slot retirement refused is logged as that, not as a journal trim, and retires after the next snapshot', async () => {
    // Slot 2, left by a run at three generations: past --snapshot-generations 1, to be retired.
    const c = await cycleIn('retire', { snapshotGenerations: 1 }, async (store) => {
      await store.writeSnapshot((batch) => {
        batch.put(2, 'p', 'rows', 'k', new Uint8Array(64).fill(2));
        batch.putMeta(2, new Uint8Array([2]));
      });
    });
    try {
      c.refuseAfterSnapshot();
      const report = await c.cycle.take();
      c.allowWrites();
      // The snapshot is on disk: the cycle succeeded, its step after it failed.
      expect(report.generation).toBe(1);
      expect(c.cycle.failure).toBeNull();
      const logged = errors(c.logs);
      expect(logged.map((l) => l['msg'])).toEqual([
        'retiring snapshot slots past --snapshot-generations failed; tried again after the next snapshot (the journal trim waits for it)',
      ]);
      expect(String(logged[0]?.['err'])).toMatch(/removing entries of snapshot slot 2 .*still in the file/);
      expect(c.store.slots()).toEqual([0, 2]);

      // Writes taken again: the next snapshot's cycle retires it.
      await c.cycle.take();
      expect(c.store.slots()).toEqual([0]);
      expect(c.logs.some((l) => l['msg'] === 'snapshot slot past --snapshot-generations removed')).toBe(true);
      expect(errors(c.logs)).toHaveLength(1);
    } finally {
      await c.close();
    }
  }, 60_000);

  it('a journal trim refused keeps its message, and trims after the next snapshot', async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    const c = await cycleIn('trim', { snapshotGenerations: 1, journalMaxAge: '1h' }, async (_store, journal) => {
      for (let i = 0; i < 3; i++)
        journal.accept({ topic: 'org.example.trim', timestamp: old + i, msg_id: `trim-${i}`, msg: {} });
      await journal.flush();
    });
    try {
      c.refuseAfterSnapshot();
      await c.cycle.take();
      c.allowWrites();
      const logged = errors(c.logs);
      expect(logged.map((l) => l['msg'])).toEqual(['journal trim failed; tried again after the next snapshot']);
      expect(String(logged[0]?.['err'])).toMatch(/journal trim through seq 3 .*still in the file/);
      expect(c.store.journalRecord(1)).toBeDefined();

      // State unchanged: the next cycle writes no generation, and trims all the same.
      await c.cycle.take();
      expect(c.store.journalRecord(1)).toBeUndefined();
      expect(c.logs.some((l) => l['msg'] === 'journal trimmed')).toBe(true);
      expect(errors(c.logs)).toHaveLength(1);
    } finally {
      await c.close();
    }
  }, 60_000);
});
