import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { digestsOf, waitReady } from '../helpers/probes.js';
import { getJson, startService, tempDir } from '../helpers/service-process.js';
import { feed, type Sample } from '../history/feed.js';

type Info = { ident: string; rows: number; counters: { keys: number; dropped: { key_cap: number } } };

const LOWERED = ['--plugin-max-keys', '100'];

const plugins = async (base: string): Promise<Info[]> =>
  ((await getJson(`${base}/plugins`)).body as { plugins: Info[] }).plugins;

/**
 * An operator lowers --plugin-max-keys and restarts. Rows (oldest first) and windowed counters
 * (oldest slices) give way at the cap as each message applies: before, the restored containers
 * were held whole until the plugin's next message (volume-1s 510 rows under a cap of 100), so the
 * restarted replica served more than the cap and differed from one run with it throughout.
 * Other stores cannot give way (a replica run with the cap dropped the messages that would grow
 * them: key_cap), so only plugins that dropped none are compared by digest.
 */
describe('a --plugin-max-keys lowered across a restart', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('cuts restored rows and windowed counters to it at start: the same state as a replica run with it throughout', async () => {
    const messages = recentSamples(Math.floor(Date.now() / 1000)) as Sample[];
    const dataDir = ['--data-dir', join(dir.path, 'restarted')];
    const before = await startService(dataDir);
    await feed(before, messages);
    expect((await plugins(before.base)).find((p) => p.ident === 'volume-1s')?.rows).toBeGreaterThan(100);
    expect(await before.stop('SIGTERM')).toBe(0);

    const reference = await startService(['--data-dir', join(dir.path, 'reference'), ...LOWERED]);
    const restarted = await startService([...dataDir, ...LOWERED]);
    try {
      await feed(reference, messages);
      await waitReady(restarted);
      const want = await plugins(reference.base);
      const got = await plugins(restarted.base);
      const rowsOf = (list: Info[]) => Object.fromEntries(list.map((p) => [p.ident, p.rows]));
      expect(rowsOf(got)).toEqual(rowsOf(want));
      const comparable = want.filter((p) => p.counters.dropped.key_cap === 0).map((p) => p.ident);
      expect(comparable).toContain('volume-1s');
      const [wantDigests, gotDigests] = [await digestsOf(reference.base), await digestsOf(restarted.base)];
      for (const ident of comparable) expect(gotDigests[ident], ident).toBe(wantDigests[ident]);
    } finally {
      expect(await restarted.stop('SIGTERM')).toBe(0);
      await reference.stop('SIGTERM');
    }
  }, 60_000);
});
