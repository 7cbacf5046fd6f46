import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, Subscriber } from 'zeromq';
import { reconnectAfterRefusal } from '../../src/bus.js';
import { metricOf } from '../helpers/probes.js';
import { startProxy } from '../helpers/proxy-process.js';
import { joinedReplica, probeThroughProxy, proxyLogged } from '../helpers/proxy-replica.js';
import { eventually, startService, tempDir } from '../helpers/service-process.js';

/**
 * `statscache proxy` accepted any number of connections on its backend, each able to hold up to
 * --replica-queue-max-bytes: whoever could reach it multiplied the proxy's memory at will. Now
 * at most --replica-max-connections are open; one more is refused in its ZeroMQ handshake (ZAP),
 * counted and logged, and the replicas connected go on receiving everything.
 */
const MAX = 3;
const EXTRA = 2;
const MARKERS = 20;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const joined = (pub: Publisher, endpoint: string) => joinedReplica(pub, endpoint, cleanups, { linger: 0 });

/**
 * The `marker` messages `sub` receives, in order: until `expected` have come (waiting up to 15 s
 * for each), or without `expected`, until none comes within its receive timeout (asked only once
 * another subscriber has had them all, so they have been sent).
 */
async function markers(sub: Subscriber, expected?: number): Promise<string[]> {
  const got: string[] = [];
  const timeout = sub.receiveTimeout;
  if (expected !== undefined) sub.receiveTimeout = 15_000;
  try {
    while (expected === undefined || got.length < expected) {
      let frames: Buffer[];
      try {
        frames = await sub.receive();
      } catch {
        break;
      }
      if (String(frames[0]) === 'marker') got.push(String(frames[1]));
    }
  } finally {
    sub.receiveTimeout = timeout;
  }
  return got;
}

describe('statscache proxy bounds the replicas connected (--replica-max-connections)', () => {
  it('refuses connections past the bound in their handshake, the connected replicas unaffected; a refused one gets in once a place frees', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const proxy = await startProxy(pub.lastEndpoint as string, 'tcp://127.0.0.1:*', [
      '--replica-max-connections',
      String(MAX),
    ]);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const admitted: Subscriber[] = [];
    for (let i = 0; i < MAX; i++) admitted.push(await joined(pub, proxy.backend));

    // The extra ones reconnect after a refusal as `statscache serve` does (libzmq would not).
    const refusals = new Array<number>(EXTRA).fill(0);
    const handshakes = new Array<number>(EXTRA).fill(0);
    const extras = refusals.map((_, i) => {
      const sub = new Subscriber({ receiveTimeout: 300, linger: 0 });
      sub.events.on('handshake:error:auth', () => {
        refusals[i] = (refusals[i] ?? 0) + 1;
      });
      sub.events.on('handshake', () => {
        handshakes[i] = (handshakes[i] ?? 0) + 1;
      });
      const cancel = reconnectAfterRefusal(
        sub,
        proxy.backend,
        () => sub.closed,
        () => {},
      );
      cleanups.push(() => sub.close());
      cleanups.push(cancel);
      sub.subscribe('');
      sub.connect(proxy.backend);
      return sub;
    });
    await eventually(() => (refusals.every((n) => n >= 1) ? true : undefined), 15_000, 'the extra connections refused');

    for (let k = 0; k < MARKERS; k++) await pub.send(['marker', String(k)]);
    const all = Array.from({ length: MARKERS }, (_, k) => String(k));
    // Every connected replica gets every message, in order, while the others are refused.
    for (const sub of admitted) expect(await markers(sub, MARKERS)).toEqual(all);
    for (const sub of extras) expect(await markers(sub)).toEqual([]);
    expect(handshakes).toEqual([0, 0]);
    const refusedLine = await eventually(() => proxyLogged(proxy, 'refused a connection to the proxy backend')[0]);
    expect(refusedLine).toMatchObject({ replicaMaxConnections: MAX });
    expect(refusedLine['open']).toBeGreaterThan(MAX);

    // A place frees: exactly one of the refused gets in on its next try.
    (admitted.shift() as Subscriber).close();
    const inside = await eventually(
      async () => {
        const i = handshakes.findIndex((n) => n > 0);
        return i === -1 ? undefined : i;
      },
      15_000,
      'a refused replica let in',
    );
    await eventually(
      () => probeThroughProxy(pub, extras[inside] as Subscriber),
      15_000,
      'the let-in replica receiving',
    );
    for (let k = 0; k < MARKERS; k++) await pub.send(['marker', String(k)]);
    expect(await markers(extras[inside] as Subscriber, MARKERS)).toEqual(all);
    for (const sub of admitted) expect(await markers(sub, MARKERS)).toEqual(all);
    const outside = extras[1 - inside] as Subscriber;
    expect(await markers(outside)).toEqual([]);
    expect(handshakes[1 - inside]).toBe(0);

    await proxy.stop('SIGTERM');
    const totals = await eventually(() => proxyLogged(proxy, 'stopping proxy')[0]);
    expect(totals['replicasRefused']).toBeGreaterThanOrEqual(Math.max(...refusals));
  }, 60_000);

  it('refuses past --replica-max-per-address from one address while others still get in', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const proxy = await startProxy(pub.lastEndpoint as string, 'tcp://127.0.0.1:*', [
      '--replica-max-connections',
      '10',
      '--replica-max-per-address',
      '2',
    ]);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const local = [await joined(pub, proxy.backend), await joined(pub, proxy.backend)];
    // A third from 127.0.0.1 is refused; one from 127.0.0.2 (libzmq's source;destination form) is not.
    let refused = 0;
    const third = new Subscriber({ receiveTimeout: 300, linger: 0 });
    third.events.on('handshake:error:auth', () => refused++);
    third.subscribe('');
    third.connect(proxy.backend);
    cleanups.push(() => third.close());
    await eventually(() => (refused > 0 ? true : undefined), 15_000, 'the third from one address refused');
    const other = await joined(pub, proxy.backend.replace('tcp://', 'tcp://127.0.0.2:0;'));

    for (let k = 0; k < MARKERS; k++) await pub.send(['marker', String(k)]);
    const all = Array.from({ length: MARKERS }, (_, k) => String(k));
    for (const sub of [...local, other]) expect(await markers(sub, MARKERS)).toEqual(all);
    expect(await markers(third)).toEqual([]);
    expect(proxyLogged(proxy, 'refused a connection to the proxy backend')[0]).toMatchObject({
      address: '127.0.0.1',
      bound: 'address',
      fromAddress: 3,
      replicaMaxPerAddress: 2,
    });
  }, 60_000);

  it('a refused `statscache serve` says the publisher refused it, and gets in once the place is free', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const proxy = await startProxy(pub.lastEndpoint as string, 'tcp://127.0.0.1:*', ['--replica-max-connections', '1']);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const first = await joined(pub, proxy.backend);
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const replica = await startService(['--data-dir', dir.path, '--connect', proxy.backend]);
    cleanups.push(() => replica.stop('SIGKILL'));
    const frames = () => metricOf(replica.base, 'statscache_bus_frames_total');
    await eventually(
      () =>
        replica.logs.some((l) => l.includes('the publisher refused this connection in its handshake'))
          ? true
          : undefined,
      15_000,
      'the replica told of its refusal',
    );
    // Through the proxy to the one admitted: had the replica been let in, it would have it too.
    await eventually(() => probeThroughProxy(pub, first), 15_000, 'a probe through the proxy');
    expect(await frames()).toBe(0);
    first.close();
    await eventually(
      async () => {
        await pub.send(['org.test.statscache.probe', '{not json']);
        return (await frames()) > 0 ? true : undefined;
      },
      15_000,
      'the refused replica receiving once the place is free',
    );
  }, 60_000);

  it('refuses a bound that is not a whole number from 1, naming the flag', async () => {
    const bads = ['0', 'abc', '100001'];
    // Started together: each exits at once.
    const errors = await Promise.all(
      bads.map((bad) =>
        startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', ['--replica-max-connections', bad]).then(
          () => null,
          (e: unknown) => e as Error,
        ),
      ),
    );
    bads.forEach((bad, i) => {
      expect(errors[i]?.message).toMatch(/proxy exited with 2/);
      expect(errors[i]?.message).toContain(
        `--replica-max-connections must be a whole number from 1 to 100000, got "${bad}"`,
      );
    });
    const proxy = await startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', []);
    cleanups.push(() => proxy.stop('SIGKILL'));
    expect(proxyLogged(proxy, 'statscache proxy running')[0]).toMatchObject({ replicaMaxConnections: 64 });
  });
});
