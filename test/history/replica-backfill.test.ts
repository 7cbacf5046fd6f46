import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { acceptedOnce, feed, type Sample } from './feed.js';

describe('one statscache is a valid --datagrepper for another', () => {
  const dirA = tempDir();
  const dirB = tempDir();
  const running: RunningService[] = [];

  afterAll(async () => {
    for (const s of running) await s.stop();
    dirA.remove();
    dirB.remove();
  });

  it('B backfills everything A received over the bus and serves identical views', async () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    const a = await startService(['--data-dir', dirA.path]);
    running.push(a);
    const total = await feed(a, samples);

    const b = await startService(['--data-dir', dirB.path, '--datagrepper', `${a.base}/raw`]);
    running.push(b);
    await eventually(
      async () => ((await getJson(`${b.base}/readyz`)).status === 200 ? true : undefined),
      30_000,
      'B ready after backfill',
    );

    const want = referenceViews(acceptedOnce(samples) as never);
    const viewsA = await servedViews(a.base, want.keys());
    const viewsB = await servedViews(b.base, want.keys());
    for (const [ident, rows] of want) {
      expect({ ident, rows: viewsA.get(ident) }).toEqual({ ident, rows });
      expect({ ident, rows: viewsB.get(ident) }).toEqual({ ident, rows });
    }
    // B journaled every message once, so it can in turn serve them.
    expect(((await getJson(`${b.base}/raw?rows_per_page=1`)).body as { total: number }).total).toBe(total);
    const volume = (viewsB.get('volume-by-category-1d') ?? []).reduce(
      (n, r) => n + (r as unknown as { volume: number }).volume,
      0,
    );
    expect(volume).toBe(total);
  });
});
