import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { digestsOf, waitReady } from '../helpers/probes.js';
import { getJson, startService, tempDir } from '../helpers/service-process.js';
import { feed, type Sample } from '../history/feed.js';

type Info = { ident: string; rows: number; retention: { seconds: number } | null };

const LOWERED = { STATSCACHE_RETENTION: JSON.stringify({ '1s': '6m' }) };

async function volume1s(base: string): Promise<{ rows: number; span: number }> {
  const plugins = ((await getJson(`${base}/plugins`)).body as { plugins: Info[] }).plugins;
  const info = plugins.find((p) => p.ident === 'volume-1s');
  const newest = (await getJson(`${base}/api/volume-1s?rows_per_page=1`)).body as { timestamp: number }[];
  const oldest = (await getJson(`${base}/api/volume-1s?rows_per_page=1&order=asc`)).body as { timestamp: number }[];
  return { rows: info?.rows ?? -1, span: (newest[0]?.timestamp ?? 0) - (oldest[0]?.timestamp ?? 0) };
}

/**
 * An operator lowers a retention (`"retention": {"1s": "6m"}`) and restarts. Rows are kept for
 * the retention behind the newest row, enforced as each message applies: before, the restored
 * rows older than the new retention were served (510 s of 1 s buckets under a 6 min retention)
 * and counted in the digest until the plugin's next message, so the restarted replica differed
 * from one fed the same messages under that retention (for a plugin whose messages are rare,
 * for as long as none comes).
 */
describe('a retention lowered across a restart', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('evicts the restored rows it no longer keeps: the same rows and digests as a replica run with it throughout', async () => {
    // 510 messages one second apart: 8.5 min of 1 s buckets, more than the 6 min kept after the change.
    const messages = recentSamples(Math.floor(Date.now() / 1000)) as Sample[];
    const dataDir = ['--data-dir', join(dir.path, 'restarted')];
    const before = await startService(dataDir);
    await feed(before, messages);
    expect((await volume1s(before.base)).span).toBeGreaterThan(400);
    expect(await before.stop('SIGTERM')).toBe(0);

    const reference = await startService(['--data-dir', join(dir.path, 'reference')], LOWERED);
    const restarted = await startService(dataDir, LOWERED);
    try {
      await feed(reference, messages);
      await waitReady(restarted);
      const want = await volume1s(reference.base);
      expect(want.span).toBeLessThanOrEqual(360);
      expect(await volume1s(restarted.base)).toEqual(want);
      expect(await digestsOf(restarted.base)).toEqual(await digestsOf(reference.base));
    } finally {
      expect(await restarted.stop('SIGTERM')).toBe(0);
      await reference.stop('SIGTERM');
    }
    // What was evicted stays evicted: the final snapshot recorded it.
    const again = await startService(dataDir);
    try {
      await waitReady(again);
      expect((await volume1s(again.base)).span).toBeLessThanOrEqual(360);
    } finally {
      await again.stop('SIGTERM');
    }
  }, 60_000);
});
