/**
 * Caps on long-lived connections (WebSocket and SSE) that a crowd of clients cannot dodge: an
 * IPv6 client is counted per network (`--ipv6-client-prefix`, 64 bits by default), since one
 * subscriber holds a /64 of addresses; and all clients together are held to
 * `--ws-max-connections`, so the file descriptors left keep serving reads and health checks.
 * A real service in this process, real WebSocket and HTTP clients; client addresses come from
 * X-Forwarded-For through a trusted proxy (127.0.0.1), as behind nginx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailOf, type Opened, sse, upgrade, xff } from '../helpers/live-connections.js';
import { eventually, type Live, startLive } from '../ws/harness.js';

const refusals = async (live: Live, limit: string) => {
  const text = await (await fetch(`${live.base}/metrics`)).text();
  return Number(new RegExp(`^statscache_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
};

describe('IPv6 clients are counted per /64', () => {
  let live: Live;
  const open: Opened[] = [];
  beforeAll(async () => {
    live = await startLive({ trustProxy: ['127.0.0.1'], wsMaxConnectionsPerIp: 2 });
  });
  afterAll(async () => {
    for (const o of open) o.close();
    await live?.close();
  });

  it('addresses of one /64 share its allowance; another /64 has its own', async () => {
    // Before, each address had an allowance of its own: a host with a /64 had 2^64 of them.
    open.push(await upgrade(live.wsUrl, xff('2001:db8:0:1::1')), await sse(live.base, xff('2001:db8:0:1:ffff::2')));
    expect(open.map((o) => o.status)).toEqual([101, 200]);
    const third = await upgrade(live.wsUrl, xff('2001:db8:0:1:abcd:1234:5678:9')); // same /64
    expect(third.status).toBe(429);
    expect(detailOf(third)).toBe('too many open connections from 2001:db8:0:1::/64');
    const stream = await sse(live.base, xff('2001:0db8:0000:0001::3')); // same /64, long spelling
    expect(stream.status).toBe(429);
    expect(detailOf(stream)).toBe('over 2 open streams from 2001:db8:0:1::/64');
    const other = await upgrade(live.wsUrl, xff('2001:db8:0:2::1'));
    open.push(other);
    expect(other.status).toBe(101);
  });

  it('--ipv6-client-prefix 128 counts each address', async () => {
    const perAddress = await startLive({ trustProxy: ['127.0.0.1'], wsMaxConnectionsPerIp: 1, ipv6ClientPrefix: 128 });
    const mine: Opened[] = [];
    try {
      for (const a of ['2001:db8::1', '2001:db8::2', '2001:db8::3']) mine.push(await upgrade(perAddress.wsUrl, xff(a)));
      expect(mine.map((o) => o.status)).toEqual([101, 101, 101]);
      const again = await upgrade(perAddress.wsUrl, xff('2001:db8::1'));
      expect(again.status).toBe(429);
      expect(detailOf(again)).toBe('too many open connections from 2001:db8::1');
    } finally {
      for (const o of mine) o.close();
      await perAddress.close();
    }
  });
});

describe('--ws-max-connections holds every client together', () => {
  let live: Live;
  const open: Opened[] = [];
  beforeAll(async () => {
    live = await startLive({ trustProxy: ['127.0.0.1'], wsMaxConnections: 3 });
  });
  afterAll(async () => {
    for (const o of open) o.close();
    await live?.close();
  });

  it('refuses the connection past it with 503 and Retry-After, whoever asks, and takes one again once one closes', async () => {
    // Three clients, each far under its own per-IP cap.
    open.push(
      await upgrade(live.wsUrl, xff('203.0.113.1')),
      await sse(live.base, xff('203.0.113.2')),
      await upgrade(live.wsUrl, xff('203.0.113.3')),
    );
    expect(open.map((o) => o.status)).toEqual([101, 200, 101]);
    const before = await refusals(live, 'ws_connections');
    const ws = await upgrade(live.wsUrl, xff('198.51.100.9'));
    expect(ws.status).toBe(503);
    expect(JSON.parse(ws.body)).toMatchObject({ error: 'server_full' });
    expect(Number(ws.retryAfter)).toBeGreaterThanOrEqual(5);
    const stream = await sse(live.base, xff('198.51.100.10'));
    expect(stream.status).toBe(503);
    expect(detailOf(stream)).toContain('--ws-max-connections');
    expect(Number(stream.retryAfter)).toBeGreaterThanOrEqual(5);
    expect(await refusals(live, 'ws_connections')).toBe(before + 2);
    // Reads and health checks are still answered.
    expect((await fetch(`${live.base}/readyz`)).status).toBe(200);
    expect((await fetch(`${live.base}/api/volume-1m`)).status).toBe(200);

    open.shift()?.close();
    await eventually(() => (live.service.hub.counts().connections === 1 ? true : undefined), 5_000, 'one closed');
    const next = await upgrade(live.wsUrl, xff('198.51.100.9'));
    open.push(next);
    expect(next.status).toBe(101);
  });
});
