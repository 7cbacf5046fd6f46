import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { eventually, RawClient, startLive, type Live } from './harness.js';

const PER_IP = 5;
const VIEWS = 10;

/** An SSE request from a chosen loopback address (each 127.x.y.z is its own client IP to the server). */
function openSse(
  url: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; body: () => Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise<string>((r) => res.on('end', () => r(Buffer.concat(chunks).toString())));
      resolve({ status: res.statusCode ?? 0, body: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

const subscribe = async (c: RawClient, id: number) => {
  const from = c.frames.length;
  c.send({ op: 'subscribe', ident: 'volume-1m', params: { rows_per_page: id }, id });
  return c.next(
    (f) => (f.type === 'snapshot' || f.type === 'error') && f['id'] === id,
    `answer to subscription ${id}`,
    from,
  );
};

const refusals = async (base: string, limit: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^statscache_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

describe('per-IP cap on live subscriptions (WebSocket and SSE together) under the global view cap', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxSubscriptionsPerIp: PER_IP, wsMaxViews: VIEWS });
  });
  afterAll(() => live?.close());

  it('one IP gets at most its share over several connections and SSE; another IP still gets views; the global cap stays', async () => {
    const a1 = await RawClient.open(live.wsUrl);
    const a2 = await RawClient.open(live.wsUrl);
    expect(a1.of('hello')[0]?.limits).toMatchObject({ maxSubscriptionsPerIp: PER_IP });
    for (const id of [1, 2, 3]) expect(await subscribe(a1, id)).toMatchObject({ type: 'snapshot' });
    for (const id of [4, 5]) expect(await subscribe(a2, id)).toMatchObject({ type: 'snapshot' });
    const refused = await subscribe(a2, 6);
    expect(refused).toMatchObject({ type: 'error', error: 'too_many_subscriptions_per_ip' });
    expect(refused['detail']).toMatch(new RegExp(`at most ${PER_IP} .*--ws-max-subscriptions-per-ip`));
    // Re-subscribing to a view it already holds costs nothing.
    expect(await subscribe(a1, 1)).toMatchObject({ type: 'snapshot' });

    const sse = await openSse(`${live.base}/api/volume-1m/stream?rows_per_page=7`);
    expect(sse.status).toBe(429);
    expect(JSON.parse(await sse.body())).toMatchObject({ error: 'too_many_subscriptions_per_ip' });

    // A second client IP is not starved by the first.
    const b = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.2' });
    for (const id of [11, 12, 13, 14]) expect(await subscribe(b, id)).toMatchObject({ type: 'snapshot' });
    const bSse = await openSse(`${live.base}/api/volume-1m/stream?rows_per_page=15`, '127.0.0.2');
    expect(bSse.status).toBe(200);
    // Ten views are open (5 + 5): the global cap still refuses a third IP's new view.
    const c = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.3' });
    expect(await subscribe(c, 21)).toMatchObject({ type: 'error', error: 'too_many_views' });
    // ...but a view another client already opened is shared, not a new one.
    expect(await subscribe(c, 11)).toMatchObject({ type: 'snapshot' });

    // Giving one back frees a slot for the same IP, over SSE this time.
    a2.send({ op: 'unsubscribe', id: 5 });
    await a2.next((f) => f.type === 'unsubscribed', 'unsubscribed');
    const again = await openSse(`${live.base}/api/volume-1m/stream?rows_per_page=5`);
    expect(again.status).toBe(200);
    expect(await subscribe(a2, 8)).toMatchObject({ type: 'error', error: 'too_many_subscriptions_per_ip' });
    // Closing the SSE stream and a connection gives their subscriptions back.
    again.close();
    a1.close();
    await eventually(
      async () => ((await subscribe(a2, 9))['type'] === 'snapshot' ? true : undefined),
      5_000,
      'slots freed by closing',
    );

    expect(await refusals(live.base, 'ws_subscriptions_per_ip')).toBeGreaterThanOrEqual(3);
    expect(await refusals(live.base, 'ws_views')).toBe(1);
    for (const x of [a2, b, c]) x.close();
    bSse.close();
  });

  it('settings: env and flag names, default, and a per-IP cap over half the global one is refused naming both', () => {
    const base = { flags: { dataDir: '/nonexistent' } };
    expect(loadConfig(base).wsMaxSubscriptionsPerIp).toBe(100);
    expect(loadConfig(base).wsMaxViews).toBe(1000);
    expect(
      loadConfig({ ...base, env: { STATSCACHE_WS_MAX_SUBSCRIPTIONS_PER_IP: '7', STATSCACHE_WS_MAX_VIEWS: '20' } }),
    ).toMatchObject({ wsMaxSubscriptionsPerIp: 7, wsMaxViews: 20 });
    expect(() => loadConfig({ flags: { wsMaxSubscriptionsPerIp: 600 } })).toThrow(
      /setting "wsMaxSubscriptionsPerIp" \(flag --ws-max-subscriptions-per-ip\): must be at most half of wsMaxViews/,
    );
  });
});
