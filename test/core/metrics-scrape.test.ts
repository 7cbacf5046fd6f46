/**
 * /metrics scrapes render at most once per SCRAPE_INTERVAL_MS: a render walks every series
 * (5-11 ms here), and clients scraping in a loop held every other request behind it. A scrape
 * sooner waits for the next render, shared by all that wait, so no answer predates its request.
 * Clock and sleep are injected: nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { createMetrics, SCRAPE_INTERVAL_MS } from '../../src/metrics.js';

describe('metrics scrape', () => {
  it('renders at most once per SCRAPE_INTERVAL_MS, each answer rendered after its request arrived', async () => {
    let t = 10_000;
    let frames = 0;
    let renders = 0;
    const sleeps: number[] = [];
    const metrics = createMetrics({
      host: new PluginHost([], () => {}),
      bus: () => {
        renders++;
        return { frames, accepted: 0, decodeErrors: {} };
      },
      lastSnapshot: () => null,
      wsClients: () => 0,
      wsSubscribers: () => 0,
      uwsNative: () => null,
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    });
    const framesIn = (text: string) => Number(/^statscache_bus_frames_total (\d+)$/m.exec(text)?.[1]);
    frames = 1;
    expect(framesIn(await metrics.scrape())).toBe(1);
    expect(sleeps).toEqual([]);
    const rendersAfterFirst = renders;
    // Three scrapes right after: they wait out the interval and share one render, which sees
    // what changed before they arrived.
    t += 30;
    frames = 2;
    const answers = await Promise.all([metrics.scrape(), metrics.scrape(), metrics.scrape()]);
    for (const text of answers) expect(framesIn(text)).toBe(2);
    expect(sleeps).toEqual([SCRAPE_INTERVAL_MS - 30]);
    // One render more (a render reads bus() once per series that needs it).
    expect(renders).toBe(2 * rendersAfterFirst);
    // Past the interval: at once.
    t += SCRAPE_INTERVAL_MS;
    frames = 3;
    expect(framesIn(await metrics.scrape())).toBe(3);
    expect(sleeps.length).toBe(1);
    // refresh() (the service's own reads) always renders at once.
    frames = 4;
    expect(framesIn(await metrics.refresh())).toBe(4);
  });
});
