import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, Subscriber } from 'zeromq';
import { startProxy } from '../../src/bus.js';
import { ProxyHealth } from '../../src/proxy-health.js';
import { serveProxyHttp } from '../../src/proxy-http.js';
import { sampleOf } from '../helpers/probes.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * What `statscache proxy`'s /healthz says of a real relay (real ZeroMQ sockets, in this process,
 * the clock injected): the age of the last message from upstream without a clock read per
 * message, and 503 once the relay is stopping or has ended.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(now?: () => number) {
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  await pub.bind('tcp://127.0.0.1:*');
  cleanups.push(() => pub.close());
  const proxy = await startProxy({
    frontend: pub.lastEndpoint as string,
    backend: 'tcp://127.0.0.1:*',
    maxFrameBytes: 1024,
    ...(now === undefined ? {} : { now }),
  });
  cleanups.push(async () => {
    proxy.close();
    await proxy.done.catch(() => {});
  });
  return { pub, proxy };
}

describe('the proxy health', () => {
  it('ages the last message from upstream by the clock, sampled when the count moves', async () => {
    let t = 1_000;
    const now = () => t;
    const { pub, proxy } = await relay(now);
    const health = new ProxyHealth(proxy, now, 0);
    cleanups.push(() => health.close());
    t = 4_000;
    expect(health.view()).toMatchObject({ secondsSinceLastMessage: null, uptimeSeconds: 3 });

    const sub = new Subscriber({ linger: 0 });
    sub.connect(proxy.backend);
    sub.subscribe('');
    cleanups.push(() => sub.close());
    await eventually(
      async () => {
        await pub.send(['probe', '{}']);
        return proxy.counters.forwarded > 0 ? true : undefined;
      },
      15_000,
      'a message through the relay',
    );
    t = 6_000;
    expect(health.view().secondsSinceLastMessage).toBe(0);
    t = 18_999;
    // No message since: the age grows with the clock, in whole seconds.
    expect(health.view().secondsSinceLastMessage).toBe(12);
    const before = proxy.counters.forwarded;
    await pub.send(['probe', '{}']);
    await eventually(() => (proxy.counters.forwarded > before ? true : undefined), 15_000, 'one more');
    t = 21_000;
    expect(health.view().secondsSinceLastMessage).toBe(0);
    expect(health.healthz()).toMatchObject({
      status: 200,
      body: { status: 'ok', seconds_since_last_message: 0, uptime_seconds: 20 },
    });
  });

  it('says how long upstream has not been connected, and why, as `degraded`', async () => {
    let t = 0;
    const now = () => t;
    const proxy = await startProxy({
      frontend: 'tcp://127.0.0.1:1',
      backend: 'tcp://127.0.0.1:*',
      maxFrameBytes: 1024,
      now,
    });
    cleanups.push(async () => {
      proxy.close();
      await proxy.done;
    });
    const health = new ProxyHealth(proxy, now, 0);
    cleanups.push(() => health.close());
    // libzmq retries a closed port: connect:delay, close, connect:retry.
    await eventually(() => (proxy.upstream().state === 'retrying' ? true : undefined), 15_000, 'a retry');
    t = 42_000;
    const { status, body } = health.healthz();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      upstream: { endpoint: 'tcp://127.0.0.1:1', connected: false, state: 'retrying', state_seconds: 42 },
    });
    expect(body['degraded']).toBe(
      'upstream tcp://127.0.0.1:1 not connected (retrying) for 42 s: connection to 127.0.0.1 refused or failed; replicas receive nothing meanwhile',
    );
  });

  it('answers 503 over HTTP once the relay is stopping, and once it has ended', async () => {
    const { proxy } = await relay();
    const http = await serveProxyHttp('127.0.0.1', 0, proxy, (err) => {
      throw err;
    });
    cleanups.push(() => http.close());
    const base = `http://127.0.0.1:${http.port}`;
    expect((await getJson(`${base}/healthz`)).status).toBe(200);
    http.health.stopping('SIGTERM');
    expect(await getJson(`${base}/healthz`)).toMatchObject({
      status: 503,
      body: { status: 'failing', reason: 'stopping: SIGTERM' },
    });

    const ended = await relay();
    const served = await serveProxyHttp('127.0.0.1', 0, ended.proxy, (err) => {
      throw err;
    });
    cleanups.push(() => served.close());
    ended.proxy.close();
    await ended.proxy.done;
    const after = `http://127.0.0.1:${served.port}`;
    expect(await getJson(`${after}/healthz`)).toMatchObject({
      status: 503,
      // The details stay: what it had done when it stopped.
      body: { status: 'failing', reason: 'the relay has stopped', totals: { forwarded: 0, oversized: 0 } },
    });
    expect(sampleOf(String((await getJson(`${after}/metrics`)).body), 'statscache_proxy_relay_running')).toBe(0);
  });
});
