import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { damageNewestGeneration } from '../helpers/corrupt-snapshots.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';
import { expectServedOnce, VOLUME } from './trimming-data-dir.js';

const silent = createLogger('silent');

/**
 * `snapshot import` moves the data dir's own messages that the export lacks after the new
 * generation's journalSeq. When that generation turns out unreadable, restore falls back to the
 * data dir's older generation, which already holds the messages that were moved: replayed on
 * top of it, they were counted twice.
 */
describe('snapshot import, then the imported generation is unreadable', () => {
  const data = tempDir();
  const scratch = tempDir();
  const file = join(scratch.path, 'backup.scx');
  const config = loadConfig({
    env: {},
    flags: { dataDir: data.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], snapshotGenerations: 3 },
  });

  afterAll(() => {
    data.remove();
    scratch.remove();
  });

  /** A service on the data dir: restores, replays, takes `messages`, stops (its final snapshot is a generation). */
  const session = (messages: readonly Sample[]) => dataDirSession(config, messages);

  /** Flips a byte of one stored entry of the newest generation: its checksum fails, restore falls back. */
  const damageNewest = () => damageNewestGeneration(data.path, VOLUME);

  it('falls back to the older generation and counts every message once (in /api)', async () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    const first = samples.slice(0, 200);
    const second = samples.slice(200, 400);
    const all = acceptedOnce([...first, ...second]);

    await session(first);
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    // The data dir goes on after the backup: the second batch is in its newest generation.
    await session(second);
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data.path]);
    expect(imported.code, imported.stderr).toBe(0);
    const damaged = await damageNewest();
    // Exported now, the older generation carries every message it holds in its tail, the moved ones too.
    const again = join(scratch.path, 'fallback.scx');
    const reexported = await runCli(['snapshot', 'export', again, '--data-dir', data.path]);
    expect(reexported.code, reexported.stderr).toBe(0);
    const payload = decodeExport(readFileSync(again));
    expect(payload.meta.generation).toBe(damaged - 1);
    expect(payload.journalTail.length).toBe(all.length);
    expect(payload.meta.replaySkip).toBeUndefined();

    const fellBack = await served(all);
    expect(fellBack.fallbacks).toEqual([damaged]);
    // Its final snapshot covers the records it passed over: the next start replays none of them.
    const next = await served(all);
    expect(next.fallbacks).toEqual([]);
    expect(next.restored).toBe(damaged);
  }, 60_000);

  /** Starts the service (real HTTP), checks /api against the reference for `all`, stops it. */
  const served = async (all: readonly Sample[]) => {
    const service = await Service.build({ config, logger: silent, checkDataFile: false });
    try {
      await service.start();
      // Before the fix: 600, the 200 moved messages counted again on top of the older generation.
      await expectServedOnce(service, all);
      return {
        fallbacks: service.restored.fallbacks.map((f) => f.generation),
        restored: service.restored.meta?.generation,
      };
    } finally {
      await service.stop();
    }
  };
});
