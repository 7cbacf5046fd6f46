import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, RawClient, startLive, type Live } from './harness.js';

const RATE = 20;

const refusals = async (base: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^statscache_limit_refusals_total\{limit="ws_frames_per_second"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

/**
 * Every frame a client sends is parsed and answered: one client sending them back to back kept
 * a core busy on its own. --ws-max-frames-per-second bounds it per connection, with a burst of
 * twice the rate for a page that subscribes to all its views at once.
 */
describe('frames a WebSocket client may send', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxFramesPerSecond: RATE });
  });
  afterAll(() => live?.close());

  it('a burst within twice the rate is answered; a flood closes that connection (1008) and no other', async () => {
    const calm = await RawClient.open(live.wsUrl);
    expect(calm.of('hello')[0]?.limits).toMatchObject({ maxFramesPerSecond: RATE });
    for (let i = 0; i < 2 * RATE - 5; i++) calm.send({ op: 'ping', id: `c${i}` });
    await calm.next((f) => f.type === 'pong' && f['id'] === `c${2 * RATE - 6}`, 'the last pong of the burst');
    expect(calm.of('pong')).toHaveLength(2 * RATE - 5);

    const flood = await RawClient.open(live.wsUrl);
    for (let i = 0; i < 10 * RATE; i++) flood.send({ op: 'ping', id: `f${i}` });
    await eventually(() => flood.closed ?? undefined, 15_000, 'the flooding client closed');
    expect(flood.closed?.code).toBe(1008);
    expect(flood.closed?.reason).toMatch(/--ws-max-frames-per-second/);
    expect(flood.of('pong').length).toBeLessThanOrEqual(2 * RATE);
    expect(await refusals(live.base)).toBe(1);

    // The calm client is still served once its tokens come back.
    await eventually(
      async () => {
        calm.send({ op: 'ping', id: 'again' });
        await new Promise((r) => setTimeout(r, 100));
        return calm.frames.some((f) => f.type === 'pong' && f['id'] === 'again') ? true : undefined;
      },
      15_000,
      'a pong after the burst',
    );
    expect(calm.closed).toBeNull();
    calm.close();
  });
});
