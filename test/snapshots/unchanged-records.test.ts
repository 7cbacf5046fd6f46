import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { decodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import type { SnapshotReport } from '../../snapshots/snapshotter.js';
import { catchUp, planCatchUp } from '../../src/catch-up.js';
import { loadConfig } from '../../src/config.js';
import { assembleCore, type Core } from '../../src/core.js';
import { createLogger } from '../../src/logger.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * Within one run, a snapshot with the journal position and every plugin's change log where the
 * last one of the run left them wrote nothing, though the records it would write had changed:
 * a start-up catch-up ending on records the plugin does not take (its "not loaded after" mark
 * gone), the key budget's check once recovery is done (where its next check falls). The
 * restart then restored the older records: the plugin caught up again as if it had been left
 * out of the last run, the budget's checks at other messages than a replica that did not
 * restart. Real LMDB data dirs, the service's own core; the snapshot asked for mid-recovery
 * stands for POST /admin/snapshot (`snapshot take`), the last one for the stop's final one.
 */
const log = createLogger('silent');
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** Counts the koji messages alone: the router never gives it the others. */
const koji = definePlugin({
  name: 'Koji',
  summary: 's',
  description: 'd',
  topics: ['org.fedoraproject.prod.buildsys'],
  rows: rowsOf<{ timestamp: number; topic: string; n: number }>(),
  columns: ['topic', 'n'],
  key: ['topic'],
  update(m, { rows }) {
    rows.put({ timestamp: m.timestamp, topic: m.topic, n: (rows.get(m.topic)?.n ?? 0) + 1 });
  },
});
/** Takes every message. */
const other = definePlugin({
  name: 'Other',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; topic: string; n: number }>(),
  columns: ['topic', 'n'],
  key: ['topic'],
  update(m, { rows }) {
    rows.put({ timestamp: m.timestamp, topic: m.topic, n: (rows.get(m.topic)?.n ?? 0) + 1 });
  },
});

const now = Date.now();
/** Seqs 1…30 (i < 30) are koji's, 31…40 another topic's. */
const message = (i: number) => ({
  topic: i < 30 ? 'org.fedoraproject.prod.buildsys.build.state.change' : 'org.fedoraproject.prod.bodhi.update.comment',
  timestamp: Math.floor(now / 1000) - 3600 + i,
  msg_id: `2026-unchanged-records-${i}`,
  msg: {},
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** One run over `dir`: `during(core)`, then `messages` taken in; the stop's final snapshot's report. */
async function run(
  dir: string,
  plugins: unknown[],
  messages: number[],
  during: (core: Core, store: DataStore) => Promise<void> = async () => {},
  flags: Record<string, unknown> = {},
): Promise<{ final: SnapshotReport; core: Core }> {
  const store = new DataStore(dir);
  const core = assembleCore({
    config: loadConfig({ env: {}, flags: { dataDir: dir, ...flags } }),
    store,
    plugins,
    now: () => now,
  });
  try {
    await during(core, store);
    for (const i of messages) core.intake.accept(message(i));
    await core.intake.settled();
    const final = await core.snapshotter.take();
    // Nothing since: one more writes nothing and names that generation, written or restored.
    const again = await core.snapshotter.take();
    expect(again).toMatchObject({ generation: final.generation, slot: final.slot, written: 0, removed: 0 });
    return { final, core };
  } finally {
    core.host.stop();
    await store.close();
  }
}

/** The start-up catch-up (service-recover.ts); `onRead(n)` at the n-th journal record read, one record per turn. */
async function catchUpAll(core: Core, onRead: (reads: number) => void = () => {}): Promise<void> {
  const plan = planCatchUp(core.restored, core.host.idents);
  if (plan === null) return;
  let reads = 0;
  const signal = {
    get aborted() {
      onRead(++reads);
      return false;
    },
  } as AbortSignal;
  const hold = core.snapshotter.hold.bind(core.snapshotter);
  await catchUp({ intake: core.intake, journal: core.journal, log, signal, hold, sliceMs: 0 }, plan, () => {});
}

/** A data dir whose newest generation has koji not loaded since seq 10 (its record marked), the journal at 40. */
async function kojiLeftOut(dir: string): Promise<void> {
  await run(dir, [koji, other], range(0, 10));
  const without = await run(dir, [other], range(10, 40));
  expect(without.final.journalSeq).toBe(40);
}

describe('a snapshot after record-only changes within one run', () => {
  it('writes the catch-up done: the next start does not take the plugin as left out of the last run', async () => {
    const d = tempDir();
    dirs.push(d);
    await kojiLeftOut(d.path);
    let mid: Promise<SnapshotReport> | null = null;
    const { final } = await run(d.path, [koji, other], [], async (core, store) => {
      expect(core.restored.resumed?.['koji']?.journalSeq).toBe(10);
      // Asked for as the 20th record (seq 30, koji's last) is read: cut at the yield after it.
      await catchUpAll(core, (reads) => {
        if (reads === 20) mid = core.snapshotter.take();
      });
      expect(mid).not.toBeNull();
      const written = await (mid as unknown as Promise<SnapshotReport>);
      expect(written.written).toBeGreaterThan(0);
      // Written mid-way: koji marked where it then stood.
      const meta = decodeChecked(store.readSlotMeta(written.slot) as Uint8Array) as SnapshotMeta;
      expect(meta.plugins['koji']?.notLoadedAfter?.journalSeq).toBe(30);
    });
    // Seqs 31…40 moved neither koji's change log nor the journal position; its mark is gone.
    const next = await run(d.path, [koji, other], [], async (core) => {
      // Before: koji resumed at seq 30, caught up again over 31…40 and logged as loaded again
      // after runs without it, though the last run had it loaded throughout.
      expect(core.restored.resumed?.['koji']).toBeUndefined();
      expect(planCatchUp(core.restored, core.host.idents)).toBeNull();
      expect(core.restored.meta?.generation).toBe(final.generation);
    });
    // Nothing changed since: the restart's stop writes nothing.
    expect(next.final).toMatchObject({ generation: final.generation, written: 0, removed: 0 });
  });

  it("writes the key budget's check once recovery is done: the next start checks where a replica that did not restart does", async () => {
    const d = tempDir();
    dirs.push(d);
    await kojiLeftOut(d.path);
    // A budget set since (1000 keys, far from full): not restored, so live() checks it.
    const flags = { maxKeysTotal: 1000 };
    let atStop: unknown = null;
    const { final } = await run(
      d.path,
      [koji, other],
      [],
      async (core) => {
        await catchUpAll(core);
        // After the catch-up, before live(): the 20 records given to koji counted towards the next check.
        expect(core.host.keyBudgetRecord()?.sinceCheck).toBe(20);
        expect((await core.snapshotter.take()).written).toBeGreaterThan(0);
        core.host.live();
        atStop = core.host.keyBudgetRecord();
        // The check ran and cut nothing: no change log moved.
        expect(atStop).toMatchObject({ limit: 1000, cap: null, sinceCheck: 0 });
      },
      flags,
    );
    const next = await run(
      d.path,
      [koji, other],
      [],
      async (core) => {
        // Before: sinceCheck 20, as the snapshot before the check had it.
        expect(core.host.keyBudgetRecord()).toEqual(atStop);
        expect(core.restored.meta?.generation).toBe(final.generation);
      },
      flags,
    );
    expect(next.final).toMatchObject({ generation: final.generation, written: 0, removed: 0 });
  });
});
