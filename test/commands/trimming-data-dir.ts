import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { loadConfig } from '../../src/config.js';
import type { Service } from '../../src/service.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { tempDir } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';

/** The plugin whose volume the import tests total. */
export const VOLUME = 'volume-by-category-1d';

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
  const session = (config: typeof keeping, messages: readonly Sample[]): Promise<void> =>
    dataDirSession(config, messages);
  return { data, file, keeping, trimming, session };
}

/**
 * What a started service on the data dir serves counts each of `all` once: the volume it
 * totals (the figure a double count or a loss moves) and every plugin's view against a run
 * that saw them once.
 */
export async function expectServedOnce(service: Service, all: readonly Sample[]): Promise<void> {
  const base = `http://127.0.0.1:${service.server?.port}`;
  const rows = (await servedViews(base, [VOLUME])).get(VOLUME) as (Row & { volume?: number })[];
  expect(rows.reduce((n, r) => n + (r.volume ?? 0), 0)).toBe(all.length);
  const reference = referenceViews(all as never);
  const views = await servedViews(base, reference.keys());
  for (const [ident, want] of reference) expect({ ident, rows: views.get(ident) }).toEqual({ ident, rows: want });
}
