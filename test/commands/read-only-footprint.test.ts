/**
 * What the read-only commands leave in a data dir. They never change statscache.lmdb and
 * create no data dir or data file where there is none; they do open LMDB's reader table,
 * statscache.lmdb-lock, creating it when absent (LMDB does so for readers too): it is where a
 * reader registers the snapshot it reads, so a service writing meanwhile does not reuse those
 * pages. Opening without it (MDB_NOLOCK) would make `snapshot export` beside a running or
 * starting service unsafe, so the README explains the file instead (Operations).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { DATA_FILE, DATA_LOCK_FILE } from '../../snapshots/lmdb-store.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('read-only commands and the data dir they read', () => {
  const root = tempDir();
  const dir = join(root.path, 'data');
  const commands = (dataDir: string): string[][] => [
    ['snapshot', 'list', '--json', '--data-dir', dataDir],
    ['snapshot', 'inspect', 'latest', '--data-dir', dataDir],
    ['snapshot', 'export', join(root.path, 'out.scx'), '--data-dir', dataDir],
  ];

  beforeAll(async () => {
    const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } });
    const service = await Service.build({ config, logger: createLogger('silent'), checkDataFile: false });
    for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 50)) service.accept(m as never);
    await service.snapshot();
    await service.stop();
  }, 30_000);
  afterAll(() => root.remove());

  it('leave statscache.lmdb byte for byte as it was, and add only the LMDB reader table', async () => {
    const data = join(dir, DATA_FILE);
    const before = sha256(data);
    for (const args of commands(dir)) {
      rmSync(join(dir, DATA_LOCK_FILE));
      const files = readdirSync(dir).sort();
      const done = await runCli(args);
      expect(done.code, `${args.join(' ')}: ${done.stderr}`).toBe(0);
      expect({ args, files: readdirSync(dir).sort() }).toEqual({ args, files: [...files, DATA_LOCK_FILE].sort() });
      expect(sha256(data)).toBe(before);
    }
  }, 30_000);

  it('create nothing where there is no data file: neither a missing data dir nor a file in an empty one', async () => {
    const empty = join(root.path, 'empty');
    const missing = join(root.path, 'missing');
    mkdirSync(empty);
    // A mistyped --data-dir: export is the one that writes a file (elsewhere), so it stands for the three.
    for (const args of [...commands(empty), ...commands(missing).slice(2)]) {
      const done = await runCli(args);
      expect(done.code, args.join(' ')).toBe(1);
      expect(done.stderr).toContain('no statscache data in');
    }
    expect(readdirSync(empty)).toEqual([]);
    expect(existsSync(missing)).toBe(false);
  }, 30_000);
});
