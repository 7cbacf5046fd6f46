import { afterEach, describe, expect, it } from 'vitest';
import { XSubscriber } from 'zeromq';
import { PROXY_SUBSCRIPTIONS_MAX } from '../../src/proxy-subscriptions.js';
import { recordingUpstream } from '../helpers/recording-upstream.js';
import { startProxy } from '../helpers/proxy-process.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * `statscache proxy` forwarded every distinct subscription its replicas sent: one replica holding
 * any number of distinct prefixes (each up to 4 KiB) grew the proxy's and the upstream
 * publisher's subscription tables without bound. Now at most PROXY_SUBSCRIPTIONS_MAX distinct
 * prefixes are forwarded at once; one past it is counted and not forwarded.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const logged = (lines: readonly string[], msg: string) =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => String(e['msg']).startsWith(msg));

describe('statscache proxy bounds the distinct subscriptions it forwards upstream', () => {
  it('forwards the first PROXY_SUBSCRIPTIONS_MAX prefixes, counts the rest, and takes one again once a cancel makes room', async () => {
    // Upstream: an XPUB recording each distinct subscription and last cancel that comes up.
    const upstream = await recordingUpstream(cleanups);
    const seen = () => upstream.seen.map((m) => String(m[0]));
    const proxy = await startProxy(upstream.endpoint, 'tcp://127.0.0.1:*', ['--http-port', '0']);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const upstreamSaw = (message: string, what: string) =>
      eventually(() => (seen().includes(message) ? true : undefined), 30_000, what);
    const replica = new XSubscriber({ linger: 0, sendHighWaterMark: 0 });
    replica.connect(proxy.backend);
    cleanups.push(() => replica.close());

    const EXTRA = 10;
    const prefix = (i: number) => `org.fedoraproject.p${i}.`;
    // The first alone, until it comes up: sent before the connections are made, the rest would
    // go up from XSUB's table (in its order, not as sent) when they are.
    await replica.send(`\u0001${prefix(0)}`);
    await upstreamSaw(`\u0001${prefix(0)}`, 'the first subscription upstream');
    for (let i = 1; i < PROXY_SUBSCRIPTIONS_MAX + EXTRA; i++) await replica.send(`\u0001${prefix(i)}`);
    // A cancel of one forwarded: it goes up, and makes room for one. One connection keeps its
    // order, so it comes up after every subscription before it is handled.
    await replica.send(`\u0000${prefix(0)}`);
    await upstreamSaw(`\u0000${prefix(0)}`, 'the cancel upstream');
    // A cancel of one refused is not forwarded: it never went up.
    await replica.send(`\u0000${prefix(PROXY_SUBSCRIPTIONS_MAX + 1)}`);
    // Another replica subscribing to a prefix refused before (still held by the first) takes the room.
    const other = new XSubscriber({ linger: 0 });
    other.connect(proxy.backend);
    cleanups.push(() => other.close());
    await other.send(`\u0001${prefix(PROXY_SUBSCRIPTIONS_MAX)}`);
    await upstreamSaw(`\u0001${prefix(PROXY_SUBSCRIPTIONS_MAX)}`, 'the retried prefix');

    const expected = [
      ...Array.from({ length: PROXY_SUBSCRIPTIONS_MAX }, (_, i) => `\u0001${prefix(i)}`),
      `\u0000${prefix(0)}`,
      `\u0001${prefix(PROXY_SUBSCRIPTIONS_MAX)}`,
    ];
    expect(seen().length).toBe(expected.length);
    expect(seen()).toEqual(expected);

    const { httpPort } = logged(proxy.logs, 'statscache proxy running')[0] as { httpPort: number };
    const health = await getJson(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.body).toMatchObject({
      status: 'ok',
      subscriptions: PROXY_SUBSCRIPTIONS_MAX,
      totals: { subscriptions_refused: EXTRA },
    });
    const metrics = String((await getJson(`http://127.0.0.1:${httpPort}/metrics`)).body);
    expect(metrics).toMatch(/^statscache_proxy_subscriptions_refused_total 10$/m);
    expect(metrics).toMatch(new RegExp(`^statscache_proxy_subscriptions ${PROXY_SUBSCRIPTIONS_MAX}$`, 'm'));
  }, 90_000);
});
