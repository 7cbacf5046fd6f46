import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { freePort } from '../helpers/free-port.js';
import { eventually, tempDir } from '../helpers/service-process.js';

const silent = createLogger('silent');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function message(n: number, timestamp: number, extra: Partial<Stored> = {}): Stored {
  return {
    topic: `org.fedoraproject.prod.${['git', 'bodhi', 'wiki'][n % 3]}.x`,
    timestamp,
    msg_id: `2026-dedupe-${n}`,
    i: n + 1,
    username: 'apache',
    msg: { n },
    ...extra,
  };
}

async function service(dg: FakeDatagrepper | null, extra: Record<string, unknown> = {}): Promise<Service> {
  const dir = tempDir();
  const flags = {
    dataDir: dir.path,
    port: 0,
    bind: ['tcp://127.0.0.1:*'],
    ...(dg ? { datagrepper: dg.url } : {}),
    ...extra,
  };
  const s = await Service.build({
    config: loadConfig({ env: {}, flags }),
    logger: silent,
    sleep: () => new Promise((r) => setTimeout(r, 5)),
  });
  cleanups.push(
    () => dir.remove(),
    () => s.close(),
  );
  return s;
}

const total = (s: Service) =>
  [...s.host.get('volume-by-category-1d')!.inspect().rows.values()].reduce(
    (a, r) => a + (r as unknown as { volume: number }).volume,
    0,
  );

/**
 * Resolves once `pub`'s subscription has joined: PUB drops what it sends before then (a slow
 * joiner). Probes are invalid JSON, counted as frames and skipped, never accepted.
 */
async function joined(s: Service, pub: Publisher): Promise<void> {
  const before = s.counters.frames;
  await eventually(
    async () => {
      await pub.send(['org.test.statscache.probe', '{not json']);
      await new Promise((r) => setImmediate(r));
      return s.counters.frames > before ? true : undefined;
    },
    10_000,
    'subscription joined',
  );
}

/** The --connect endpoint's state as /readyz reports it. */
const endpointState = (s: Service): string | undefined =>
  (
    JSON.parse(String(s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' }).body)) as {
      endpoints?: { state: string }[];
    }
  ).endpoints?.[0]?.state;

describe('backfill and de-duplication', () => {
  it('retries failed datagrepper pages (never skips one) and is not ready until the backfill is done', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    const now = Date.now() / 1000;
    for (let n = 0; n < 250; n++) dg.messages.push(message(n, now - 300 + n));
    dg.failNext = 4; // the first page fails four times in a row
    const s = await service(dg);
    const starting = s.start();
    expect(s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' }).status).toBe(503);
    await starting;
    expect(s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' }).status).toBe(200);
    expect(s.counters.backfillRetries).toBe(4);
    expect(s.counters.backfilled).toBe(250);
    expect(total(s)).toBe(250);
  });

  it('counts a message once whether it comes twice on the bus or live and again from backfill', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    const now = Date.now() / 1000;
    // Gap backfills are rate-limited (one per interval); a short interval keeps this test quick.
    const s = await service(dg, { gapBackfillInterval: 0.2 });
    await s.start();
    const pub = new Publisher({ linger: 0 });
    pub.connect(s.subscription!.bound[0]!);
    cleanups.push(() => pub.close());
    await joined(s, pub);
    const live = [0, 1, 2, 3, 4].map((n) => message(n, now + n));
    for (const m of [...live, live[0]!, live[3]!]) await pub.send([m.topic, JSON.stringify(m)]);
    await eventually(
      () => (s.counters.accepted + s.counters.duplicates === 7 ? true : undefined),
      5_000,
      'seven frames',
    );
    expect([s.counters.accepted, s.counters.duplicates]).toEqual([5, 2]);
    // Same message id, different payload: a different message (real buses reuse ids), counted.
    const reused = message(0, now + 9, { msg: { n: 'other' } });
    await pub.send([reused.topic, JSON.stringify(reused)]);
    // A publisher sequence jump (i 6 → 9) triggers a gap backfill, which re-delivers the live ones.
    const jumped = message(8, now + 10);
    dg.messages.push(...live, message(5, now + 5), message(6, now + 6), message(7, now + 7), jumped);
    await pub.send([jumped.topic, JSON.stringify(jumped)]);
    await eventually(() => (total(s) === 10 ? true : undefined), 5_000, 'gap backfilled');
    expect(s.counters.gaps).toBeGreaterThanOrEqual(1);
    expect(total(s)).toBe(10);
  });

  it('backfills what was published while a connected endpoint was down, once it reconnects', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    const first = new Publisher({ linger: 0 });
    await first.bind('tcp://127.0.0.1:*');
    const endpoint = first.lastEndpoint as string;
    const s = await service(dg, { connect: [endpoint], bind: [] });
    await s.start();
    const now = Date.now() / 1000 - 30; // in the past: backfill windows end at the present
    // Distinct usernames: no publisher-sequence gap can be what triggers the backfill here.
    const before = [0, 1, 2].map((n) => message(n, now + n, { username: `p${n}`, i: 1 }));
    // Sent until they arrive: a PUB drops what it sends before the subscription reaches it (a
    // slow joiner under load); the ids make every repeat a duplicate.
    await eventually(
      async () => {
        for (const m of before) await first.send([m.topic, JSON.stringify(m)]);
        await new Promise((r) => setTimeout(r, 100));
        return total(s) === 3 ? true : undefined;
      },
      15_000,
      'first three',
    );
    first.close();
    // The service has seen the connection drop: the next one is a reconnect, which backfills.
    await eventually(
      () => (['disconnected', 'retrying'].includes(endpointState(s) ?? '') ? true : undefined),
      10_000,
      'the drop seen',
    );
    // Published while we were cut off: only the archive has them.
    dg.messages.push(...before, ...[3, 4, 5, 6].map((n) => message(n, now + n, { username: `p${n}`, i: 1 })));
    const second = new Publisher({ linger: 0 });
    cleanups.push(() => second.close());
    await second.bind(endpoint);
    await eventually(
      () => (total(s) === 7 ? true : undefined),
      20_000,
      'the four missed messages backfilled after the reconnect',
    );
    expect(s.counters.backfilled).toBe(4);
  });

  it('backfills what was published while an endpoint was down during the start-up backfill, once running', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    // The start-up backfill is held until the endpoint has dropped and come back.
    let release = () => {};
    dg.hold = new Promise<void>((r) => (release = r));
    cleanups.push(() => release());
    const first = new Publisher({ linger: 0 });
    await first.bind('tcp://127.0.0.1:*');
    const endpoint = first.lastEndpoint as string;
    const s = await service(dg, { connect: [endpoint], bind: [] });
    const starting = s.start();
    cleanups.push(() => starting.catch(() => undefined));
    await eventually(() => (endpointState(s) === 'connected' ? true : undefined), 10_000, 'connected while starting');
    // Asked: the start-up window has ended (at its start); nothing published from now on is in it.
    await eventually(() => (dg.requests > 0 ? true : undefined), 10_000, 'the start-up backfill asked the history');
    first.close();
    await eventually(
      () => (['disconnected', 'retrying'].includes(endpointState(s) ?? '') ? true : undefined),
      10_000,
      'the drop seen',
    );
    // Published while cut off, after the start-up window: only the archive has them.
    const at = Date.now() / 1000;
    dg.messages.push(...[0, 1, 2].map((n) => message(n, at, { username: `s${n}`, i: 1 })));
    const second = new Publisher({ linger: 0 });
    cleanups.push(() => second.close());
    await second.bind(endpoint);
    await eventually(() => (endpointState(s) === 'connected' ? true : undefined), 10_000, 'reconnected while starting');
    // Still starting: the reconnect came before the service was running.
    expect(s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' }).status).toBe(503);
    release();
    dg.hold = null;
    await starting;
    await eventually(
      () => (total(s) === 3 ? true : undefined),
      20_000,
      'the three messages missed during start-up backfilled once running',
    );
    expect(s.counters.backfilled).toBe(3);
  });

  it('backfills what was published before an endpoint first connected, when that came after the start-up window', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    // Nothing listens there yet (the publisher's host is down or cut off): the service keeps trying.
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const s = await service(dg, { connect: [endpoint], bind: [] });
    await s.start();
    // Running: the start-up window has ended (at the start-up backfill's start), and the endpoint never connected.
    expect(dg.requests).toBeGreaterThan(0);
    expect(endpointState(s)).not.toBe('connected');
    // Published meanwhile, after that window: only the archive has them.
    const at = Date.now() / 1000;
    dg.messages.push(...[0, 1, 2].map((n) => message(n, at, { username: `f${n}`, i: 1 })));
    const pub = new Publisher({ linger: 0 });
    cleanups.push(() => pub.close());
    await pub.bind(endpoint);
    await eventually(() => (endpointState(s) === 'connected' ? true : undefined), 10_000, 'first connected');
    await eventually(
      () => (total(s) === 3 ? true : undefined),
      20_000,
      'the three messages published before the first connection backfilled',
    );
    expect(s.counters.backfilled).toBe(3);
  });

  it('fetches a gap window again once the history had time to archive it: messages stored after the first read are counted', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    // A gap window reaches min(backfillOverlap, 5) s past the jump (publishers' clocks differ) and
    // is read again historyLag after its end: 1 s instead of 5 keeps the wait ~5 s, not ~10.
    const s = await service(dg, { gapBackfillInterval: 0.05, historyLag: 0.5, backfillOverlap: 1 });
    await s.start();
    const pub = new Publisher({ linger: 0 });
    pub.connect(s.subscription!.bound[0]!);
    cleanups.push(() => pub.close());
    await joined(s, pub);
    const now = Date.now() / 1000;
    for (const n of [0, 1]) await pub.send([message(n, now + n).topic, JSON.stringify(message(n, now + n))]);
    await eventually(() => (total(s) === 2 ? true : undefined), 5_000, 'first two');
    const asked = dg.requests;
    // i 2 → 5: a gap, read from the history at once, before it has stored the two missed messages.
    const jumped = message(4, now + 4);
    await pub.send([jumped.topic, JSON.stringify(jumped)]);
    await eventually(() => (dg.requests > asked ? true : undefined), 5_000, 'the gap read');
    dg.messages.push(message(2, now + 2), message(3, now + 3));
    await eventually(() => (total(s) === 5 ? true : undefined), 15_000, 'the late-archived messages');
    expect(s.counters.backfilled).toBe(2);
  });
});
