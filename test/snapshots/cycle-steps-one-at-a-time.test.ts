/**
 * A snapshot's steps after it (snapshot-cycle.ts: retiring slots past a lowered
 * --snapshot-generations, then trimming the journal) ran beside those of the snapshot before it.
 * Snapshotter.take() serialises the writes only: the periodic timer, /admin/snapshot and stop's
 * final snapshot each call take() whatever is running, and a loaded CI machine (snapshots every
 * second) logged a retired slot's removal twice: the second retirement listed the slot the first
 * was still clearing, cleared nothing and dropped its meta again. Two trims of the same journal
 * ran side by side alike. They now run one at a time, in order.
 *
 * A real cycle: a real store, journal and snapshotter (no plugins). The first snapshot's
 * retirement is held at its first step; the next snapshots are written meanwhile; then it goes on.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../snapshots/journal.js';
import type { DataStore } from '../../snapshots/lmdb-store.js';
import type { Intake } from '../../src/intake.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { type CycleRig, cycleRig } from '../helpers/snapshot-cycle-rig.js';

const root = tempDir('statscache-cycle-steps-');
afterAll(() => root.remove());

const QUEUED = /^snapshot written while the previous one's slot retirement or journal trim runs/;
const REMOVED = 'snapshot slot past --snapshot-generations removed';

/** Slots 1 and 2 left by a run at three generations, and journal records past --journal-max-age. */
async function prepare(store: DataStore, journal: Journal): Promise<void> {
  await store.writeSnapshot((batch) => {
    for (const slot of [1, 2]) {
      for (let k = 0; k < 4; k++) batch.put(slot, 'p', 'rows', `k${k}`, new Uint8Array(16).fill(slot));
      batch.putMeta(slot, new Uint8Array([slot]));
    }
  });
  const old = Math.floor(Date.now() / 1000) - 7200;
  for (let i = 0; i < 6; i++)
    journal.accept({ topic: 'org.example.cycle', timestamp: old + i, msg_id: `cycle-${i}`, msg: {} });
  await journal.flush();
}

interface Cycle extends CycleRig {
  /** Snapshots the snapshotter has written (or found unchanged). */
  readonly written: () => number;
}

/** A real store, journal and snapshotter (no plugins) on a data dir of their own, at one generation. */
async function cycleIn(name: string): Promise<Cycle> {
  let written = 0;
  const rig = await cycleRig(join(root.path, name), { snapshotGenerations: 1, journalMaxAge: '1h' }, prepare, {
    level: 'debug',
    afterTake: () => written++,
  });
  return { ...rig, written: () => written };
}

describe('the steps after a snapshot', () => {
  it('run one at a time: snapshots written while one retires slots each leave every slot retired and logged once', async () => {
    const t = await cycleIn('one-at-a-time');
    try {
      // Every step of a retirement or a trim counts while it runs: two at once is two runs side by side.
      let running = 0;
      let most = 0;
      let steps = 0;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding = false;
      const onStep = async () => {
        most = Math.max(most, ++running);
        try {
          // The first snapshot's retirement, mid slot 1 (one of its four entries removed).
          if (++steps === 1) {
            holding = true;
            await held;
          }
        } finally {
          running--;
        }
      };
      const cycle = t.cycle({ retirePacing: { step: 1, onStep }, trimPacing: { step: 1, onStep } });

      const a = cycle.take();
      await eventually(() => (holding ? true : undefined), 15_000, "the first snapshot's retirement held");
      // Two more snapshots written while it is held: the periodic timer's, an admin's.
      const b = cycle.take();
      const c = cycle.take();
      // Their steps either ran beside the held one (counted) or wait for it (logged).
      await eventually(
        () => (t.written() === 3 && (most > 1 || t.logs.some((l) => QUEUED.test(String(l['msg'])))) ? true : undefined),
        15_000,
        'the later snapshots written',
      );
      release();
      await Promise.all([a, b, c]);
      // The run the later two asked for may still go on: close() waits for it.
      await cycle.close();

      expect(most, 'retirement and trim steps running at once').toBe(1);
      expect(t.logs.filter((l) => l['msg'] === REMOVED).map((l) => l['slot'])).toEqual([1, 2]);
      expect(t.store.slots()).toEqual([0]);
      // The journal trimmed once, each record counted once.
      const trimmed = t.logs.filter((l) => l['msg'] === 'journal trimmed').map((l) => l['removed']);
      expect(trimmed).toEqual([6]);
      expect(t.store.journalRecord(1)).toBeUndefined();
      expect(t.store.journalRecord(6)).toBeUndefined();
      // One more run for the two written meanwhile, not one each: it finds nothing left to do.
      expect(t.logs.filter((l) => QUEUED.test(String(l['msg'])))).toHaveLength(1);
      expect(cycle.failure).toBeNull();
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a periodic tick while a snapshot is still being written starts none; an admin snapshot still does', async () => {
    const t = await cycleIn('periodic-skip');
    try {
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let settling = 0;
      // The first snapshot waits on intake (a slow disk's journal commit) until released.
      const intake = {
        settled: () => (++settling === 1 ? held : Promise.resolve()),
        newestTimestamp: 0,
      } as unknown as Intake;
      const cycle = t.cycle({ intake });

      const first = cycle.periodic();
      expect(first).not.toBeNull();
      expect(cycle.periodic(), 'a tick while the first is written').toBeNull();
      expect(t.logs.filter((l) => l['msg'] === 'periodic snapshot skipped: one is still being written')).toHaveLength(
        1,
      );
      const admin = cycle.take();
      release();
      await Promise.all([first, admin]);
      expect(t.written()).toBe(2);
      expect(cycle.failures).toBe(0);

      // Nothing being written: the next tick takes one.
      const next = cycle.periodic();
      expect(next).not.toBeNull();
      await next;
      expect(t.written()).toBe(3);
      await cycle.close();
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a slot's meta removed again says none was there, so a retirement logs only its own removal", async () => {
    const t = await cycleIn('drop-twice');
    try {
      // lmdb-js reports a removal of an absent key as done: this said true twice.
      expect(await t.store.dropSlotMeta(2)).toBe(true);
      expect(await t.store.dropSlotMeta(2)).toBe(false);
      expect(t.store.slots()).toEqual([1]);
    } finally {
      await t.close();
    }
  });
});
