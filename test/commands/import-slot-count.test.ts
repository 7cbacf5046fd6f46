import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { decodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';
import { runCli } from './cli.js';

/**
 * `snapshot import` run with only --data-dir (not the service's --config) took the default slot
 * count, 3, over a data dir the service keeps at 5 generations: the import's slot (generation
 * mod 3) could be the newest generation's (generation mod 5), which it overwrote, so the
 * generation a damaged import falls back to was gone.
 */
describe('snapshot import into a data dir kept at more generations than the default', () => {
  const data = tempDir();
  const scratch = tempDir();
  const file = join(scratch.path, 'backup.scx');
  const config = loadConfig({
    env: {},
    flags: { dataDir: data.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], snapshotGenerations: 5 },
  });
  afterAll(() => {
    data.remove();
    scratch.remove();
  });

  /** Generation number → slot, of every generation the data dir holds. */
  const generations = async (): Promise<Map<number, number>> => {
    const store = new DataStore(data.path, { readOnly: true });
    try {
      return new Map(
        store
          .slots()
          .map((slot) => [(decodeChecked(store.readSlotMeta(slot) as Uint8Array) as SnapshotMeta).generation, slot]),
      );
    } finally {
      await store.close();
    }
  };

  it('keeps the newest generation: it writes into the oldest one of the file slots', async () => {
    const service = await Service.build({ config, logger: createLogger('silent'), checkDataFile: false });
    await service.recover();
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    // A generation per snapshot that has something new to write, up to a newest generation N
    // with (N + 1) mod 3 = N mod 5 (5, 20…): where a wrap at 3 lands on the newest.
    let newest = 0;
    for (let i = 0; i < 25 && !(newest > 0 && (newest + 1) % 3 === newest % 5); i++) {
      service.accept(samples[i] as never);
      await service.settled();
      newest = (await service.snapshot()).generation;
    }
    await service.close();
    const before = await generations();
    expect(before.get(newest)).toBe(newest % 5);
    expect(before.size).toBe(5);

    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    // As an operator would run it: no --config, so the setting is its default (3).
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data.path]);
    expect(imported.code, imported.stderr).toBe(0);

    const after = await generations();
    expect(after.get(newest + 1)).toBe((newest + 1) % 5);
    // The previous newest is still there to fall back to; the oldest gave way.
    expect(after.get(newest)).toBe(newest % 5);
    expect(after.has(Math.min(...before.keys()))).toBe(false);
    expect(after.size).toBe(5);
  });
});
