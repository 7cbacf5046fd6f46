import { Publisher } from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { recentSamples } from '../helpers/fixtures.js';
import { startProxy, type RunningProxy } from '../helpers/proxy-process.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { digestsOf, journaledAndApplied, metricOf } from '../helpers/probes.js';

const busFrames = (base: string) => metricOf(base, 'statscache_bus_frames_total');

describe('statscache proxy: one upstream publisher fanned out to replicas', () => {
  const dirs = [tempDir(), tempDir()];
  const services: RunningService[] = [];
  let proxy: RunningProxy | undefined;
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await proxy?.stop();
    pub.close();
    for (const d of dirs) d.remove();
  });

  it('two replicas behind the proxy serve the reference views and equal digests', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    proxy = await startProxy(pub.lastEndpoint as string);
    for (const d of dirs) services.push(await startService(['--data-dir', d.path, '--connect', proxy.backend]));
    for (const s of services)
      await eventually(async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined), 20_000);
    // Slow joiner, twice over (replica → proxy → publisher): probe until both replicas see frames.
    await eventually(
      async () => {
        await pub.send(['org.test.statscache.probe', '{not json']);
        await new Promise((r) => setTimeout(r, 30));
        const seen = await Promise.all(services.map((s) => busFrames(s.base)));
        return seen.every((n) => n > 0) ? true : undefined;
      },
      15_000,
      'subscriptions through the proxy',
    );

    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    for (const e of samples) await pub.send([e.topic, JSON.stringify(e)]);
    const want = acceptedOnce(samples).length;
    for (const s of services)
      await eventually(
        async () => ((await journaledAndApplied(s.base, want)) ? true : undefined),
        20_000,
        `${want} messages journaled and applied by ${s.base}`,
      );

    const reference = referenceViews(acceptedOnce(samples) as never);
    const [a, b] = services as [RunningService, RunningService];
    const viewsA = await servedViews(a.base, reference.keys());
    const viewsB = await servedViews(b.base, reference.keys());
    for (const [ident, rows] of reference) {
      expect({ ident, rows: viewsA.get(ident) }).toEqual({ ident, rows });
      expect({ ident, rows: viewsB.get(ident) }).toEqual({ ident, rows });
    }
    const digestsA = await digestsOf(a.base);
    expect(Object.keys(digestsA).length).toBe(reference.size);
    expect(await digestsOf(b.base)).toEqual(digestsA);
    // Stopping the proxy is clean (SIGTERM ends its forwarding loops, exit 0).
    expect(await proxy.stop()).toBe(0);
  });
});
