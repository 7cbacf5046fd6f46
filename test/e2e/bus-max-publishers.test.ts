import { afterAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { metricOf, metricsText, sampleOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

/**
 * The --bind socket accepted any number of publisher connections, each holding a file
 * descriptor and its own receive queue: whoever could reach it could open connections until the
 * process ran out of either and stopped taking messages in for every publisher. Now at most
 * --max-publishers are open; one more is refused in its ZeroMQ handshake (ZAP), counted, logged,
 * and its messages never reach the plugins; a place frees when a connected publisher goes.
 * Real publishers (zeromq.js PUB sockets, as fedmsg emitters are) against the real service.
 */
const MAX = 3;
const EXTRA = 4;

interface Watched {
  readonly pub: Publisher;
  readonly category: string;
  handshakes: number;
  refusals: number;
}

let sent = 0;
/** A message of its own category, so the volume plugin tells whose messages were applied. */
const send = (w: Watched) => {
  const topic = `org.fedoraproject.prod.${w.category}.x`;
  sent++;
  return w.pub.send([
    topic,
    JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `2026-pubcap-${sent}`, msg: {} }),
  ]);
};

/** Messages of `category` the service has applied, read over HTTP. */
async function volume(s: RunningService, category: string): Promise<number> {
  const rows = (await getJson(`${s.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
    category: string;
    volume: number;
  }[];
  return rows.find((r) => r.category === category)?.volume ?? 0;
}

/** Sends until one of the publisher's messages has been applied (PUB drops what it sends before the subscription reaches it). */
const applied = (s: RunningService, w: Watched) =>
  eventually(
    async () => {
      await send(w);
      return (await volume(s, w.category)) > 0 ? true : undefined;
    },
    30_000,
    `${w.category}'s messages applied`,
  );

const logged = (s: RunningService, msg: string) =>
  s.logs
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => String(e['msg']).startsWith(msg));

const readyz = async (s: RunningService) =>
  (await getJson(`${s.base}/readyz`)).body as { publishers?: unknown; degraded?: string };

// The sockets live on the bus thread, or on the main thread with --bus-thread false.
describe.each(['true', 'false'])('the --bind socket bounds the publishers connected (--bus-thread %s)', (busThread) => {
  const dir = tempDir('statscache-pubcap-');
  const publishers: Watched[] = [];
  /** Refusals the publishers were told of, all of them. */
  const told = () => publishers.reduce((n, w) => n + w.refusals, 0);
  let svc: RunningService | null = null;
  afterAll(async () => {
    for (const w of publishers) w.pub.close();
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  /** A publisher connected to the service's --bind socket, its handshake outcomes counted. */
  function connect(s: RunningService, category: string): Watched {
    const pub = new Publisher({ linger: 0 });
    const w: Watched = { pub, category, handshakes: 0, refusals: 0 };
    publishers.push(w);
    pub.events.on('handshake', () => {
      w.handshakes++;
    });
    pub.events.on('handshake:error:auth', () => {
      w.refusals++;
    });
    pub.connect(s.bound);
    return w;
  }

  it('admits exactly --max-publishers, refuses and counts the rest unapplied, and lets a new one in when one goes', async () => {
    const s = await startService(['--data-dir', dir.path, '--max-publishers', String(MAX), '--bus-thread', busThread]);
    svc = s;
    await waitReady(s);

    const all = Array.from({ length: MAX + EXTRA }, (_, i) => connect(s, `pubcap${i}`));
    // Every connection decided: let in, or refused in its handshake.
    await eventually(
      () => (all.every((w) => w.handshakes + w.refusals > 0) ? true : undefined),
      30_000,
      'every connection admitted or refused',
    );
    const admitted = all.filter((w) => w.handshakes > 0);
    const refused = all.filter((w) => w.handshakes === 0);
    expect(admitted).toHaveLength(MAX);
    expect(refused).toHaveLength(EXTRA);
    for (const w of refused) expect(w.refusals).toBeGreaterThanOrEqual(1);

    // The refused send too, first; then every admitted publisher's messages are applied.
    for (const w of refused) for (let k = 0; k < 5; k++) await send(w);
    for (const w of admitted) await applied(s, w);
    for (const w of refused) expect(await volume(s, w.category), w.category).toBe(0);

    // Counted, as each refused publisher was told; the refused connections closed.
    await eventually(
      async () => {
        const text = await metricsText(s.base);
        return sampleOf(text, 'statscache_bus_refused_connections_total') === told() &&
          sampleOf(text, 'statscache_bus_publisher_connections') === MAX
          ? true
          : undefined;
      },
      15_000,
      'refusals counted and the refused connections closed',
    );
    expect(await metricOf(s.base, 'statscache_bus_max_publishers')).toBe(MAX);
    const atBound = await readyz(s);
    expect(atBound.publishers).toEqual({ connections: MAX, max: MAX, refused: told() });
    expect(atBound.degraded).toMatch(/at --max-publishers \(3 connections of 3\)/);
    const line = logged(s, 'refused a publisher connecting to the --bind socket')[0];
    expect(line).toMatchObject({ maxPublishers: MAX, address: '127.0.0.1' });

    // A connected publisher goes: a place frees, and a new publisher gets in and is applied. The
    // refused go first: now and then libzmq connects a refused peer again by itself, which
    // would race the newcomer for the place.
    for (const w of refused) w.pub.close();
    (admitted[0] as Watched).pub.close();
    await eventually(
      async () => ((await metricOf(s.base, 'statscache_bus_publisher_connections')) === MAX - 1 ? true : undefined),
      15_000,
      'the place freed',
    );
    expect((await readyz(s)).degraded ?? '').not.toMatch(/--max-publishers/);
    const newcomer = connect(s, 'pubcapnew');
    await applied(s, newcomer);
    expect(newcomer.refusals).toBe(0);

    // Full again: the next one is refused, and those admitted are still applied.
    const late = connect(s, 'pubcaplate');
    await eventually(() => (late.refusals > 0 ? true : undefined), 15_000, 'the late publisher refused');
    expect(late.handshakes).toBe(0);
    for (let k = 0; k < 5; k++) await send(late);
    for (const w of [admitted[1] as Watched, admitted[2] as Watched, newcomer]) {
      const had = await volume(s, w.category);
      await send(w);
      await eventually(
        async () => ((await volume(s, w.category)) > had ? true : undefined),
        15_000,
        `${w.category} applied`,
      );
    }
    expect(await volume(s, 'pubcaplate')).toBe(0);
    await eventually(
      async () => ((await metricOf(s.base, 'statscache_bus_refused_connections_total')) === told() ? true : undefined),
      15_000,
      'the late refusal counted',
    );
    expect(s.child.exitCode).toBeNull();
  }, 120_000);
});
