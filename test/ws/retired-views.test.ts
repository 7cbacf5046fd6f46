/**
 * Views retired (unwatched past their linger, or let go for a new one at --ws-max-views) keep
 * their last seq so a re-created view never reuses one; their keys are view parameters, which
 * any WebSocket client picks. Through the real server: one client opening and leaving more
 * than MAX_RETIRED distinct views leaves at most MAX_RETIRED remembered, and a view forgotten
 * there still comes back above every seq handed out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RETIRED } from '../../src/http/ws-views.js';
import { type Live, RawClient, startLive } from './harness.js';

describe('retired views remembered, over the real server', () => {
  let live: Live;
  beforeAll(async () => {
    // Two views at once: each new view retires the one left before it, with no linger to wait out.
    live = await startLive({
      wsMaxViews: 2,
      wsMaxSubscriptionsPerIp: 1,
      wsMaxNewViewsPerIp: 1_000_000,
      wsMaxFramesPerSecond: 100_000,
    });
  });
  afterAll(() => live?.close());

  it(`keeps at most ${MAX_RETIRED}, and a forgotten view is re-created above every seq`, async () => {
    const c = await RawClient.open(live.wsUrl);
    const view = (k: number) => ({ op: 'subscribe', ident: 'volume-1m', params: { start: 1_000_000 + k }, id: k });
    c.send(view(0));
    const first = await c.next((f) => f.type === 'snapshot' && f['id'] === 0, 'the first view');
    c.send({ op: 'unsubscribe', id: 0 });
    const views = MAX_RETIRED + 100;
    for (let k = 1; k <= views; k++) {
      c.send(view(k));
      c.send({ op: 'unsubscribe', id: k });
    }
    c.send({ op: 'ping', id: 'done' });
    await c.next((f) => f.type === 'pong' && f['id'] === 'done', 'every frame handled', 0, 60_000);
    expect(c.of('snapshot')).toHaveLength(views + 1);
    expect(c.of('error')).toEqual([]);
    // Every view but the last left was retired; only MAX_RETIRED of them are remembered.
    expect(live.service.hub.viewStats().retired).toBe(MAX_RETIRED);
    const highest = Math.max(...c.of('snapshot').map((f) => Number(f['seq'])));
    c.send(view(0));
    const again = await c.next((f) => f.type === 'snapshot' && f['id'] === 0, 'the first view again', views * 2 + 2);
    expect(Number(again['seq'])).toBeGreaterThan(Math.max(highest, Number(first['seq'])));
    c.close();
  }, 60_000);
});
