/**
 * An import's state counts messages older than its journal tail whose ids the data dir never
 * holds: for backfill they must be as trimmed ones (backfill_before_journal), or a backfill over
 * their time counts them again. Found as an operator: a replica bootstrapped from a peer took
 * a gap backfill from the peer's /raw 40 minutes back and counted 768 messages of 700.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

describe('snapshot import marks what its state counts without ids', () => {
  const root = tempDir();
  const source = join(root.path, 'source');
  const target = join(root.path, 'target');
  const file = join(root.path, 'state.scx');
  const now = Math.floor(Date.now() / 1000);
  // 510 messages one second apart, the newest dated now.
  const samples = recentSamples(now);

  beforeAll(async () => {
    const service = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: source, port: 0 } }),
      logger: createLogger('silent'),
    });
    for (const m of samples) service.accept(m as never);
    await service.snapshot();
    await service.stop();
  });
  afterAll(() => root.remove());

  it('records the time before the tail as trimmed, so backfill refuses what the state already counts', async () => {
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', source, '--journal-tail', '100']);
    expect(exported.code, exported.stderr).toBe(0);
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', target]);
    expect(imported.code, imported.stderr).toBe(0);
    const store = new DataStore(target, { readOnly: true });
    try {
      const through = store.trimmedThrough();
      const newest = Math.max(...samples.map((m) => Number(m.timestamp)));
      // Every message dated before the 100 s tail is in the state, its id not in the journal.
      const older = samples.filter((m) => Number(m.timestamp) < newest - 100);
      expect(older.length).toBe(409);
      for (const m of older) expect(Number(m.timestamp)).toBeLessThanOrEqual(through);
      // Those of the tail stay open to backfill (de-duplicated by id).
      expect(through).toBeLessThan(newest - 100);
    } finally {
      await store.close();
    }
  });
});
