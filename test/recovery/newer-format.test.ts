import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeChecked, encodeChecked } from '../../snapshots/codec.js';
import { FORMAT_VERSION } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { runCli } from '../commands/cli.js';
import { recentSamples } from '../helpers/fixtures.js';
import { digestsOf, joinedPublisher, journaledAndApplied, waitReady } from '../helpers/probes.js';
import { eventually, startService, tempDir } from '../helpers/service-process.js';

const COUNT = 120;

/** Every slot's meta record as a newer statscache writes it: a higher snapshot format, checksum intact. */
async function writtenByNewerBuild(dataDir: string): Promise<Record<number, unknown>> {
  const store = new DataStore(dataDir);
  const metas: Record<number, unknown> = {};
  try {
    for (const slot of store.slots()) {
      const first = store.slotRaw(slot).next();
      if (first.done) continue;
      const meta = { ...(decodeChecked(Buffer.from(first.value.value)) as object), format: FORMAT_VERSION + 1 };
      await store.putRaw(first.value.key, encodeChecked(meta));
      metas[slot] = meta;
    }
  } finally {
    await store.close();
  }
  return metas;
}

async function slotMetas(dataDir: string): Promise<Record<number, unknown>> {
  const store = new DataStore(dataDir, { readOnly: true });
  try {
    return Object.fromEntries(
      store.slots().map((slot) => [slot, decodeChecked(store.readSlotMeta(slot) as Uint8Array)]),
    );
  } finally {
    await store.close();
  }
}

/**
 * A downgrade: this build started on a data dir a newer statscache wrote (its generations in a
 * higher snapshot format). Before, those generations were taken for damage and passed over:
 * with the journal trimmed the start was ready serving empty plugins, and its snapshots then
 * overwrote the newer build's state. It must refuse (exit 2, as for a plugin's newer state
 * version) and leave the data dir as it was; an export made with this version, imported, is
 * the way back.
 */
describe('a data dir written by a newer snapshot format', () => {
  const dir = tempDir();
  const dataDir = join(dir.path, 'data');
  const backup = join(dir.path, 'before-upgrade.scx');
  afterAll(() => dir.remove());

  it('stops the start and journal replay (exit 2) untouched, and starts again once an export of this version is imported', async () => {
    // Retention of a second: once snapshotted the journal holds nothing, so the generations are the only state.
    const flags = ['--data-dir', dataDir, '--journal-max-age', '1s'];
    const svc = await startService(flags);
    const pub = await joinedPublisher(svc);
    for (const e of recentSamples(Date.now() / 1000).slice(0, COUNT)) await pub.send(e.topic, JSON.stringify(e));
    pub.close();
    await eventually(async () => ((await journaledAndApplied(svc.base, COUNT)) ? true : undefined), 20_000, 'applied');
    const before = await digestsOf(svc.base);
    expect(Object.values(before).some((d) => d !== '0000000000000000')).toBe(true);
    expect(await svc.stop('SIGTERM')).toBe(0);
    const exported = await runCli(['snapshot', 'export', backup, '--data-dir', dataDir]);
    expect(exported.code, exported.stderr).toBe(0);

    const newer = await writtenByNewerBuild(dataDir);
    expect(Object.keys(newer).length).toBeGreaterThan(0);

    const outcome = await startService(flags).then(
      async (s) => `started and served ${JSON.stringify(await digestsOf(s.base))} (exit ${await s.stop('SIGTERM')})`,
      (err: Error) => err.message,
    );
    expect(outcome).toMatch(/exited with 2 before listening/);
    expect(outcome).toMatch(
      /SC_SNAPSHOT_TOO_NEW: the data dir was written by a newer statscache: generation \d+ \(slot \d+\) is in snapshot format 2, and this one reads format 1/,
    );
    expect(await slotMetas(dataDir)).toEqual(newer);

    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dataDir]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/SC_SNAPSHOT_TOO_NEW: the data dir was written by a newer statscache/);
    expect(await slotMetas(dataDir)).toEqual(newer);

    // Nor is an export of it this build's to make: before, the newer generation was "skipped
    // damaged" and an older one, or none, exported with exit 0.
    const newerExport = join(dir.path, 'newer.scx');
    const refusedExport = await runCli(['snapshot', 'export', newerExport, '--data-dir', dataDir]);
    expect(refusedExport.code).toBe(2);
    expect(refusedExport.stderr).toMatch(/SC_SNAPSHOT_TOO_NEW: the data dir was written by a newer statscache/);
    expect(existsSync(newerExport)).toBe(false);

    // The documented way back: the export taken with this version, imported, is what the next start restores.
    const imported = await runCli(['snapshot', 'import', backup, '--data-dir', dataDir]);
    expect(imported.code, imported.stderr).toBe(0);
    const again = await startService(flags);
    try {
      await waitReady(again);
      expect(await digestsOf(again.base)).toEqual(before);
    } finally {
      expect(await again.stop('SIGTERM')).toBe(0);
    }
  }, 60_000);
});
