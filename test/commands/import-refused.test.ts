import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { decodeExport, encodeExport } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { servedViews } from '../helpers/reference.js';
import { tempDir } from '../helpers/service-process.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';

const VOLUME = 'volume-by-category-1d';
const silent = createLogger('silent');

/**
 * An export that cannot be written whole (a key longer than LMDB takes, in a file whose checksum
 * is good: made by hand, or by a build without today's bound). `snapshot import` moved the data
 * dir's own messages after the generation first, then met the key while writing the state:
 * lmdb-js commits what a transaction's callback wrote before it threw, so the moves landed
 * without the generation they were made for, and the next start replayed the moved messages on
 * top of the data dir's own generation, which already held them (600 counted for 400).
 */
describe('snapshot import of an export holding a key LMDB cannot store', () => {
  const data = tempDir();
  const scratch = tempDir();
  const file = join(scratch.path, 'backup.scx');
  const crafted = join(scratch.path, 'crafted.scx');
  const config = loadConfig({
    env: {},
    flags: { dataDir: data.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
  });
  afterAll(() => {
    data.remove();
    scratch.remove();
  });

  const session = (messages: readonly Sample[]) => dataDirSession(config, messages);

  it('is refused with the key named, and the data dir is left as it was', async () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    const first = samples.slice(0, 200);
    const all = acceptedOnce(samples.slice(0, 400));
    await session(first);
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    await session(samples.slice(200, 400));

    const payload = decodeExport(readFileSync(file));
    const rows = payload.plugins[VOLUME]?.rows as [string, unknown][];
    const [, row] = rows[0] as [string, unknown];
    rows.push([`x${'y'.repeat(3000)}`, row]);
    writeFileSync(crafted, encodeExport(payload));

    const imported = await runCli(['snapshot', 'import', crafted, '--data-dir', data.path]);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/refusing to import .*volume-by-category-1d.*3001.*nothing was written/);

    const service = await Service.build({ config, logger: silent, checkDataFile: false });
    try {
      await service.start();
      const base = `http://127.0.0.1:${service.server?.port}`;
      const served = (await servedViews(base, [VOLUME])).get(VOLUME) as (Row & { volume?: number })[];
      // Before: 600, the 200 messages moved for the refused generation replayed on top of the data dir's own.
      expect(served.reduce((n, r) => n + (r.volume ?? 0), 0)).toBe(all.length);
      expect(service.journal.position).toBe(all.length);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
