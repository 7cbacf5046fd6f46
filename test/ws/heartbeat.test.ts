import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, RawClient, startLive, type Live } from './harness.js';

describe('heartbeat: uWS pings, idle timeout reaps dead peers', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsIdleTimeoutSeconds: 8 });
  });
  afterAll(() => live?.close());

  it('closes a peer that stops answering pings, keeps one that answers', async () => {
    const alive = await RawClient.open(live.wsUrl);
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    // autoPong off: the socket stays open at the TCP level but never answers, like a frozen tab.
    const frozen = await RawClient.open(live.wsUrl, { autoPong: false });
    frozen.send({ op: 'subscribe', ident: 'volume-1m' });
    alive.send({ op: 'subscribe', ident: 'volume-1m' });
    await eventually(
      () => (live.service.hub.clientCount('volume-1m') === 2 ? true : undefined),
      5_000,
      'two subscribers',
    );
    await eventually(() => frozen.closed ?? undefined, 25_000, 'the frozen peer to be reaped');
    expect(live.service.hub.clientCount('volume-1m')).toBe(1);
    expect(pings).toBeGreaterThan(0);
    expect(alive.closed).toBeNull();
    alive.send({ op: 'ping', id: 1 });
    expect(await alive.next((f) => f.type === 'pong', 'pong from the live one')).toBeTruthy();
    alive.close();
  }, 40_000);
});
