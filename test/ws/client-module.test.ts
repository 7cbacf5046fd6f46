import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  StatscacheClient,
  SubscriptionRefused,
  type WebSocketCtor,
} from '../../examples/ws-client/statscache-client.js';
import { eventually, type Live, samplesBatch, startLive, matchesHttp } from './harness.js';

function client(url: string, extra: Partial<ConstructorParameters<typeof StatscacheClient>[0]> = {}) {
  return new StatscacheClient({
    url,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    initialDelayMs: 50,
    maxDelayMs: 400,
    ...extra,
  });
}

/**
 * A TCP path to the service that can be cut without closing it (the network's part, which no
 * test can do to a real server in this process): blackhole() stops every byte both ways on the
 * connections open now and leaves them open; later connections pass.
 */
async function cuttablePath(port: number): Promise<{ url: string; blackhole: () => void; close: () => void }> {
  const open: { a: Socket; b: Socket; cut: boolean }[] = [];
  const server: Server = createServer((a) => {
    const b = connect(port, '127.0.0.1');
    const pair = { a, b, cut: false };
    open.push(pair);
    a.on('data', (d) => pair.cut || b.write(d));
    b.on('data', (d) => pair.cut || a.write(d));
    const end = () => {
      a.destroy();
      b.destroy();
    };
    a.on('error', end).on('close', () => pair.cut || end());
    b.on('error', end).on('close', () => pair.cut || end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `ws://127.0.0.1:${address.port}/ws`,
    blackhole: () => {
      for (const p of open) p.cut = true;
    },
    close: () => {
      for (const p of open) {
        p.a.destroy();
        p.b.destroy();
      }
      server.close();
    },
  };
}

describe('the example WebSocket client (examples/ws-client)', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live?.close());

  it('keeps two subscriptions to one view current, and the other one after either unsubscribes', async () => {
    const c = client(live.wsUrl);
    const first = c.subscribe('volume-by-category-1m');
    const second = c.subscribe('volume-by-category-1m');
    await Promise.all([first.ready(), second.ready()]);
    await live.publish(samplesBatch());
    // The server holds one subscription per view and connection: before, only the subscription
    // that asked last was sent the view's updates, and the first kept its snapshot for good.
    await matchesHttp(live, first);
    await matchesHttp(live, second);

    first.unsubscribe();
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) + 30));
    await matchesHttp(live, second);
    expect(first.status).toBe('closed');
    expect(c.stats.gaps).toBe(0);

    // The view was kept for `second` (one subscriber left, none on the server side gone).
    expect(live.service.hub.counts().views).toBeGreaterThan(0);
    c.close();
  });

  it('rejects ready() for a subscription refused for good, and retries one refused for now until it is served', async () => {
    const tight = await startLive({ wsMaxViews: 4, wsMaxSubscriptionsPerIp: 2 });
    try {
      const holder = client(tight.wsUrl);
      const held = [holder.subscribe('volume-1s'), holder.subscribe('volume-1m')];
      await Promise.all(held.map((s) => s.ready()));

      const c = client(tight.wsUrl);
      const unknown = c.subscribe('no-such-plugin');
      const err = await unknown.ready().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SubscriptionRefused);
      expect((err as SubscriptionRefused).frame.error).toBe('unknown_ident');
      expect(unknown.status).toBe('failed');

      // This client IP holds its two subscriptions: refused for now, asked again with back-off.
      const waiting = c.subscribe('volume-5s');
      await eventually(() => (c.stats.refusals >= 2 ? true : undefined), 10_000, 'two refusals');
      expect(waiting.status).toBe('retrying');
      expect(waiting.lastError?.error).toBe('too_many_subscriptions_per_ip');

      held[0]?.unsubscribe(); // a slot of the IP's frees, and the next retry takes it
      await waiting.ready();
      await tight.publish(samplesBatch());
      await matchesHttp(tight, waiting);
      expect(waiting.status).toBe('live');
      holder.close();
      c.close();
    } finally {
      await tight.close();
    }
  });

  it('gives up a connection whose server fell silent, reconnects, and resumes', async () => {
    const path = await cuttablePath(live.port);
    const c = client(path.url, { pingAfterMs: 300, answerMs: 300 });
    try {
      const sub = c.subscribe('volume-by-category-1s');
      await sub.ready();
      path.blackhole();
      // Nothing arrives on the cut path, the server's own pings included; without its own
      // watch the client waited on it for as long as TCP would (many minutes).
      await eventually(() => (c.stats.silences >= 1 && c.stats.connects >= 2 ? true : undefined), 10_000, 'reconnect');
      await live.publish(samplesBatch(Math.floor(Date.now() / 1000) + 60));
      await matchesHttp(live, sub);
      expect(c.stats.resumes + c.stats.snapshots).toBeGreaterThanOrEqual(2);
    } finally {
      c.close();
      path.close();
    }
  });
});
