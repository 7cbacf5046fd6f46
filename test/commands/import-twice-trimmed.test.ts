import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { decodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { damageNewestGeneration } from '../helpers/corrupt-snapshots.js';
import { recentSamples } from '../helpers/fixtures.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';
import { expectServedOnce, trimmingDataDir, VOLUME } from './trimming-data-dir.js';

const silent = createLogger('silent');

describe('one backup imported twice, the journal trimmed in between', () => {
  // Five slots: the data dir's own generation outlives both imports and the session between them.
  const { data, file, keeping, trimming, session } = trimmingDataDir(5);

  /** The data dir's generations' meta records, newest first. */
  const metas = async (): Promise<SnapshotMeta[]> => {
    const store = new DataStore(data.path, { readOnly: true });
    try {
      return store
        .slots()
        .map((slot) => decodeChecked(store.readSlotMeta(slot) as Uint8Array) as SnapshotMeta)
        .sort((a, b) => b.generation - a.generation);
    } finally {
      await store.close();
    }
  };
  /** `snapshot import` of the backup, with the service's slot count. */
  const importBackup = () =>
    runCli(['snapshot', 'import', file, '--data-dir', data.path], { STATSCACHE_SNAPSHOT_GENERATIONS: '5' });
  const metaOf = async (generation: number): Promise<SnapshotMeta> => {
    const meta = (await metas()).find((m) => m.generation === generation);
    if (meta === undefined) throw new Error(`no generation ${generation}`);
    return meta;
  };

  it('a fall back to the data dir own generation still replays the message journaled between the imports', async () => {
    const samples = acceptedOnce(recentSamples(Math.floor(Date.now() / 1000) - 7200) as Sample[]);
    const old = samples.slice(0, 200);
    // Journaled between the imports, dated among the data dir's messages (a message it missed
    // then, taken in late): the data dir's own generation never applied it.
    const between = { ...(samples[300] as Sample), timestamp: (old[100] as Sample).timestamp };
    const all = [...old, between];

    await session(keeping, old);
    const own = (await metas())[0]?.generation ?? -1;
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    const first = await importBackup();
    expect(first.code, first.stderr).toBe(0);
    // G's mark, and the journal's end then (coveredAfter): replay on G passes over what comes later dated within it.
    expect((await metaOf(own)).coveredAfter).toBe(old.length);

    // Restores the import, takes the late message, and its final snapshot lets the journal drop
    // the old messages (every generation holds them): the trims now reach past G's mark.
    await session(trimming, [between]);
    const second = await importBackup();
    expect(second.code, second.stderr).toBe(0);
    // The old messages are journaled again (held by G: replaySkip); the late one moves after them.
    expect(second.stdout).toContain(`${old.length} journal messages added (0 already present)`);
    expect(second.stdout).toContain("replays 1 of this data dir's own messages");

    // Every generation newer than G unreadable: the second import's, the session's, the first import's.
    const newest = await damageNewestGeneration(data.path, VOLUME);
    for (let g = newest - 1; g > own; g--) await damageNewestGeneration(data.path, VOLUME, g);

    const service = await Service.build({ config: trimming, logger: silent, checkDataFile: false });
    try {
      await service.start();
      expect(service.restored.meta?.generation).toBe(own);
      // Before the fix: 200, the late message passed over as held.
      await expectServedOnce(service, all);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
