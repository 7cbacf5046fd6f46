import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, Subscriber } from 'zeromq';
import { sampleOf } from '../helpers/probes.js';
import { startProxy, type RunningProxy } from '../helpers/proxy-process.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * `statscache proxy` had no health route and no metrics: an operator's probe could not tell a
 * proxy whose upstream had gone, or that dropped messages, from a healthy one. With --http-port
 * it answers GET /healthz and GET /metrics from the relay's own counters and upstream state.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const running = (proxy: RunningProxy) => {
  const line = proxy.logs.find((l) => l.includes('"statscache proxy running"'));
  return JSON.parse(line ?? '{}') as { httpPort?: number; httpHost?: string };
};

interface Healthz {
  status: string;
  degraded?: string;
  upstream: { endpoint: string; connected: boolean; state: string };
  seconds_since_last_message: number | null;
  replicas_connected: number;
  totals: Record<
    | 'forwarded'
    | 'oversized'
    | 'refused'
    | 'replica_full'
    | 'replicas_refused'
    | 'not_subscriptions'
    | 'subscriptions_refused',
    number
  >;
}

const healthz = async (base: string) => {
  const r = await getJson(`${base}/healthz`);
  return { status: r.status, body: r.body as Healthz };
};

/** Every message `sub` receives, counted, until `topic` has come `times` times (`waitMs` for each). */
async function receiveUntil(sub: Subscriber, topic: string, times: number, waitMs = 15_000): Promise<number> {
  let all = 0;
  let seen = 0;
  sub.receiveTimeout = waitMs;
  while (seen < times) {
    const [t] = await sub.receive();
    all++;
    if (String(t) === topic) seen++;
  }
  return all;
}

describe('statscache proxy --http-port: /healthz and /metrics tell what the relay is doing', () => {
  it('counts what it forwards and drops, says whether upstream is connected, and goes degraded when it leaves', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    let pubOpen = true;
    cleanups.push(() => pubOpen && pub.close());
    const upstream = pub.lastEndpoint as string;
    const proxy = await startProxy(upstream, 'tcp://127.0.0.1:*', [
      '--http-port',
      '0',
      '--max-frame-bytes',
      '1024',
      '--replica-max-connections',
      '1',
    ]);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const { httpPort, httpHost } = running(proxy);
    expect(httpHost).toBe('127.0.0.1');
    expect(httpPort).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${httpPort}`;

    const connected = await eventually(
      async () => {
        const h = await healthz(base);
        return h.body.upstream.connected ? h : undefined;
      },
      15_000,
      'upstream connected',
    );
    expect(connected.status).toBe(200);
    expect(connected.body).toMatchObject({ status: 'ok', upstream: { endpoint: upstream, state: 'connected' } });
    expect(connected.body.degraded).toBeUndefined();
    // Nothing is sent before a replica subscribes (PUB filters by subscription).
    expect(connected.body.seconds_since_last_message).toBeNull();
    expect(connected.body.totals).toEqual({
      forwarded: 0,
      oversized: 0,
      refused: 0,
      replica_full: 0,
      replicas_refused: 0,
      not_subscriptions: 0,
      subscriptions_refused: 0,
    });

    const sub = new Subscriber({ receiveTimeout: 50, linger: 0 });
    sub.connect(proxy.backend);
    sub.subscribe('');
    cleanups.push(() => sub.close());
    // Slow joiner (replica → proxy → publisher): probe until one comes through.
    let received = await eventually(
      async () => {
        await pub.send(['probe', '{}']);
        try {
          return await receiveUntil(sub, 'probe', 1, 50);
        } catch {
          return undefined;
        }
      },
      15_000,
      'joined through the proxy',
    );
    // One message over --max-frame-bytes among them: dropped and counted, the rest forwarded in order.
    for (let i = 0; i < 10; i++) await pub.send(['marker', String(i)]);
    await pub.send(['big', 'x'.repeat(2000)]);
    for (let i = 10; i < 20; i++) await pub.send(['marker', String(i)]);
    received += await receiveUntil(sub, 'marker', 20);

    // A second connection past --replica-max-connections 1 is refused in its handshake and counted.
    const extra = new Subscriber({ linger: 0 });
    extra.connect(proxy.backend);
    cleanups.push(() => extra.close());
    const flowing = await eventually(
      async () => {
        const h = await healthz(base);
        return h.body.totals.replicas_refused >= 1 && h.body.replicas_connected === 1 ? h : undefined;
      },
      15_000,
      'the extra connection refused',
    );
    expect(flowing.status).toBe(200);
    expect(flowing.body.totals).toMatchObject({ forwarded: received, oversized: 1, refused: 0, replica_full: 0 });
    expect(flowing.body.seconds_since_last_message).toEqual(expect.any(Number));
    extra.close();

    const metrics = String((await getJson(`${base}/metrics`)).body);
    const refused = flowing.body.totals.replicas_refused;
    expect(sampleOf(metrics, 'statscache_proxy_forwarded_total')).toBe(received);
    expect(sampleOf(metrics, 'statscache_proxy_oversized_total')).toBe(1);
    expect(sampleOf(metrics, 'statscache_proxy_replicas_refused_total')).toBeGreaterThanOrEqual(refused);
    expect(sampleOf(metrics, 'statscache_proxy_upstream_connected', `endpoint="${upstream}"`)).toBe(1);
    expect(sampleOf(metrics, 'statscache_proxy_relay_running')).toBe(1);
    expect(metrics).toMatch(/^statscache_proxy_replicas_connected \d+$/m);
    expect(metrics).toMatch(/^statscache_proxy_refused_total 0$/m);
    expect(metrics).toMatch(/^statscache_proxy_replica_full_total 0$/m);
    expect(metrics).toMatch(/^statscache_proxy_seconds_since_last_message \d+$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);

    // The upstream publisher goes away: still alive (200), but degraded and not connected.
    pub.close();
    pubOpen = false;
    const down = await eventually(
      async () => {
        const h = await healthz(base);
        return h.body.upstream.connected ? undefined : h;
      },
      15_000,
      'upstream seen gone',
    );
    expect(down.status).toBe(200);
    expect(down.body.status).toBe('ok');
    expect(down.body.degraded).toMatch(new RegExp(`^upstream ${upstream} (disconnected|not connected)`));
    expect(down.body.totals.forwarded).toBe(received);
    const after = String((await getJson(`${base}/metrics`)).body);
    expect(sampleOf(after, 'statscache_proxy_upstream_connected', `endpoint="${upstream}"`)).toBe(0);

    // HEAD, as some probers send it: GET's status and headers, no body.
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await head.text()).toBe('');

    // Unknown paths 404 and other methods 405, both as JSON.
    const missing = await getJson(`${base}/readyz`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toMatchObject({ error: 'method_not_allowed' });

    // Stopping is clean, the HTTP server closed with the relay.
    expect(await proxy.stop()).toBe(0);
  }, 60_000);

  it('a client that keeps its connection and asks again and again does not hold the stop', async () => {
    // The answers say Connection: close, but a client may ignore it; uWS then keeps the connection
    // for as long as a request comes within its 10 s idle time, and an open connection kept the
    // stopped proxy's process alive: it answered 503 for as long as the client went on.
    const pub = new Publisher({ linger: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const proxy = await startProxy(pub.lastEndpoint as string, 'tcp://127.0.0.1:*', ['--http-port', '0']);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const socket = connect(running(proxy).httpPort ?? 0, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const ask = () => socket.write('GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n');
    const statuses: string[] = [];
    // Ping-pong: each answer is followed by the next request at once, for as long as the socket is open.
    socket.on('data', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/^HTTP\/1\.1 (\d{3})/gm)) statuses.push(m[1] as string);
      ask();
    });
    socket.on('error', () => {});
    // The test never ends the socket itself: a close is the proxy's.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    ask();
    await eventually(async () => (statuses.length >= 3 ? true : undefined), 15_000, 'three answers on one connection');
    expect(statuses[0]).toBe('200');
    // The bound is the test's timeout: before the fix the stop waited for the client to stop asking.
    expect(await proxy.stop('SIGTERM')).toBe(0);
    await closed;
    expect(statuses.filter((st) => st !== '200' && st !== '503')).toEqual([]);
  }, 60_000);

  it('refuses a bad --http-port, or --http-host without it, with the coded error naming the flag', async () => {
    const runs: [string[], string][] = [
      [
        ['--http-port', '65536'],
        '--http-port must be a whole number from 0 to 65535 (0 picks a free port), got "65536"',
      ],
      [['--http-port', 'abc'], '--http-port must be a whole number from 0 to 65535 (0 picks a free port), got "abc"'],
      [['--http-port', '-1'], '--http-port must be a whole number from 0 to 65535 (0 picks a free port), got "-1"'],
      [['--http-host', '0.0.0.0'], '--http-host "0.0.0.0" needs --http-port'],
    ];
    const errors = await Promise.all(
      runs.map(([args]) =>
        startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', args).then(
          (p) => {
            cleanups.push(() => p.stop('SIGKILL'));
            return null;
          },
          (e: unknown) => e as Error,
        ),
      ),
    );
    runs.forEach(([, message], i) => {
      expect(errors[i]?.message).toMatch(/proxy exited with 2/);
      expect(errors[i]?.message).toContain(`SC_CONFIG_INVALID: ${message}`);
    });
  });

  it('refuses a port in use with SC_PORT_IN_USE naming --http-port', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const port = (holder.address() as { port: number }).port;
    const err = await startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', ['--http-port', String(port)]).then(
      (p) => {
        cleanups.push(() => p.stop('SIGKILL'));
        return null;
      },
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/proxy exited with 2/);
    expect(err?.message).toContain(`SC_PORT_IN_USE: port ${port} on 127.0.0.1 is already in use`);
    expect(err?.message).toContain('pass another --http-port');
  });
});
