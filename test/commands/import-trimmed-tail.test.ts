import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { damageNewestGeneration } from '../helpers/corrupt-snapshots.js';
import { recentSamples } from '../helpers/fixtures.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';
import { expectServedOnce, trimmingDataDir, VOLUME } from './trimming-data-dir.js';

const silent = createLogger('silent');

/**
 * `snapshot import` appends the export's journal tail, skipping ids the journal holds. Ids the
 * data dir had trimmed are not held any more, so those messages were appended again, after
 * every older generation's journalSeq, though each of those generations holds them: with the
 * imported generation unreadable, restore fell back to an older one and replayed them on top.
 */
describe('snapshot import of a backup whose tail the data dir has trimmed since', () => {
  const { data, file, keeping, trimming, session } = trimmingDataDir(3);

  /** Flips a byte of one stored entry of the newest generation: its checksum fails, restore falls back. */
  const damageNewest = () => damageNewestGeneration(data.path, VOLUME);

  it('falls back to the older generation and counts every message once (in /api)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = (recentSamples(now - 7200) as Sample[]).slice(0, 200);
    const recent = (recentSamples(now - 5) as Sample[]).slice(200, 400);
    const all = acceptedOnce([...old, ...recent]);

    await session(keeping, old);
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    // The data dir goes on, now trimming: the old messages leave its journal (every generation holds them).
    await session(trimming, recent);
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data.path]);
    expect(imported.code, imported.stderr).toBe(0);
    // The tail's messages are journaled again: the journal no longer knew their ids.
    expect(imported.stdout).toContain(`${acceptedOnce(old).length} journal messages added (0 already present)`);
    const damaged = await damageNewest();

    const service = await Service.build({ config: trimming, logger: silent, checkDataFile: false });
    try {
      await service.start();
      expect(service.restored.fallbacks.map((f) => f.generation)).toEqual([damaged]);
      // Before the fix: 600, the 200 re-appended tail messages counted again on top of the older generation.
      await expectServedOnce(service, all);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
