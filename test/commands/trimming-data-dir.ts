import { join } from 'node:path';
import { afterAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';

const silent = createLogger('silent');

/**
 * A data dir, a backup file's path beside it, and two configs for it: `keeping` its journal, and
 * `trimming` messages over an hour old (--journal-max-age 1h: a snapshot lets the journal drop
 * messages two hours old). `session` is a service on the data dir: it restores, replays, takes
 * `messages` and stops (its final snapshot is a generation). Removed after the calling describe.
 */
export function trimmingDataDir(snapshotGenerations: number) {
  const data = tempDir();
  const scratch = tempDir();
  const file = join(scratch.path, 'backup.scx');
  const flags = { dataDir: data.path, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], snapshotGenerations };
  const keeping = loadConfig({ env: {}, flags });
  const trimming = loadConfig({ env: {}, flags: { ...flags, journalMaxAge: '1h' } });
  afterAll(() => {
    data.remove();
    scratch.remove();
  });
  const session = async (config: typeof keeping, messages: readonly Sample[]): Promise<void> => {
    const service = await Service.build({ config, logger: silent, checkDataFile: false });
    await service.recover();
    for (const m of messages) service.accept(m as never);
    await service.settled();
    await service.stop();
  };
  return { data, file, keeping, trimming, session };
}
