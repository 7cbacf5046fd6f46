/**
 * fedora-messaging over a real RabbitMQ (private unless STATSCACHE_TEST_AMQP_URL is set):
 * the same counts as over ZeroMQ, SIGKILL with unacked deliveries on a durable queue, a broker
 * restart, malformed bodies, and TLS with client certificates and EXTERNAL login.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import amqplib from 'amqplib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AmqpInput } from '../../src/amqp-bus.js';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { connectAmqpPublisher, sentAt, toWire, type TestPublisher } from '../helpers/amqp-publisher.js';
import { startBroker, type TestBroker } from '../helpers/rabbitmq.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher, loggedLine, waitReady } from '../helpers/probes.js';
import { recordedReconnects } from '../helpers/recorded-reconnects.js';
import { freePort } from '../helpers/free-port.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';

type Row = { timestamp: number; volume: number } & Record<string, unknown>;
type AmqpReady = {
  input: string;
  state: string;
  reason: string | null;
  queue: string | null;
  durable_queue: boolean;
  deliveries: number;
  acked: number;
};
type Ready = { status: string; degraded?: string; amqp?: AmqpReady[] };

/** Removes a test's durable queue over AMQP: rabbitmqctl would boot an Erlang VM (~0.6 s of CPU) for it. */
async function deleteQueue(url: string, queue: string): Promise<void> {
  const conn = await amqplib.connect(url);
  try {
    await (await conn.createChannel()).deleteQueue(queue);
  } finally {
    await conn.close();
  }
}

/**
 * The messages a durable queue holds ready (not yet delivered), over AMQP (queue.declare-ok's
 * message count, the `messages` column of rabbitmqctl list_queues): rabbitmqctl would boot an
 * Erlang VM for it.
 */
async function readyMessages(url: string, queue: string): Promise<number> {
  const conn = await amqplib.connect(url);
  try {
    return (await (await conn.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await conn.close();
  }
}

async function allRows(base: string, ident: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (let page = 1; ; page++) {
    const res = await getJson(`${base}/api/${ident}?page=${page}`);
    expect(res.status).toBe(200);
    rows.push(...(res.body as Row[]));
    if (page >= Number(res.headers.get('x-link-count'))) return rows;
  }
}
const total = async (base: string, ident: string) => (await allRows(base, ident)).reduce((a, r) => a + r.volume, 0);
const byKey = (rows: readonly Row[]) =>
  new Map(
    rows.map((r) => [
      JSON.stringify(
        Object.entries(r)
          .filter(([k]) => k !== 'volume')
          .sort(),
      ),
      r.volume,
    ]),
  );
const ready = async (svc: RunningService) => (await getJson(`${svc.base}/readyz`)).body as Ready;
/** The value of one /metrics series, 0 when absent. */
async function metric(svc: RunningService, series: string): Promise<number> {
  const text = String((await getJson(`${svc.base}/metrics`)).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const consuming = (svc: RunningService, connects = 1) =>
  eventually(
    async () => {
      const r = await ready(svc);
      const a = r.amqp?.[0];
      return a?.state === 'consuming' &&
        (await metric(svc, `statscache_amqp_connects_total{input="${a.input}"}`)) >= connects
        ? a
        : undefined;
    },
    30_000,
    'AMQP input consuming',
  );
/** `n` messages on `topic` dated `at` that only the history holds (published while no queue of ours existed). */
function historyOnly(fake: FakeDatagrepper, topic: string, at: number, n: number): void {
  for (let i = 0; i < n; i++)
    fake.messages.push({ topic, timestamp: at, msg: { i }, msg_id: randomUUID(), headers: { 'sent-at': sentAt(at) } });
}

const countReaches = (svc: RunningService, ident: string, n: number, ms = 30_000) =>
  eventually(async () => ((await total(svc.base, ident)) === n ? true : undefined), ms, `${ident} to count ${n}`);

/**
 * Publishes one message whose headers nest `depth` tables deep, from a worker thread with a large
 * stack (amqplib's encoder recurses as its decoder does).
 */
async function publishDeep(url: string, topic: string, depth: number, sent: string): Promise<void> {
  const worker = new Worker(
    `const { workerData: w, parentPort } = require('node:worker_threads');
     const amqplib = require(w.amqplib);
     (async () => {
       const conn = await amqplib.connect(w.url);
       const ch = await conn.createConfirmChannel();
       let deep = { v: 'x' };
       for (let i = 1; i < w.depth; i++) deep = { n: deep };
       ch.publish('amq.topic', w.topic, Buffer.from('{"deep":true}'), { messageId: 'deep-' + w.topic, headers: { 'sent-at': w.sent, deep } });
       await ch.waitForConfirms();
       await conn.close();
     })().then(() => parentPort.postMessage('ok'), (e) => parentPort.postMessage(String(e && e.stack || e)));`,
    {
      eval: true,
      workerData: { amqplib: createRequire(import.meta.url).resolve('amqplib'), url, topic, depth, sent },
      resourceLimits: { stackSizeMb: 256 },
    },
  );
  const [result] = (await once(worker, 'message')) as [string];
  await worker.terminate();
  expect(result).toBe('ok');
}

/**
 * A service fed over AMQP alone: startService binds it a ZeroMQ socket all the same, which
 * nothing here publishes to, so its receive stays on the main thread instead of a bus thread
 * of its own (~0.24 s of CPU per start, its Node and zeromq's addon loaded for nothing).
 */
const ZMQ_UNUSED = (args: readonly string[]): string[] => (args.includes('--amqp') ? ['--bus-thread', 'false'] : []);

describe('statscache consuming fedora-messaging from a real RabbitMQ', () => {
  let broker: TestBroker;
  let main: TestBroker;
  let pub: TestPublisher;
  const services: RunningService[] = [];
  const dirs: { remove(): void }[] = [];
  const start = async (args: string[], dir = tempDir()) => {
    dirs.push(dir);
    const svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--amqp-reconnect-max',
      '2',
      ...ZMQ_UNUSED(args),
      ...args,
    ]);
    services.push(svc);
    return svc;
  };

  // A failure under load (the service no longer answering, a count short) is diagnosed from the
  // services' own last lines and exit status, which the assertion alone does not show: read
  // before they are killed. Each test's services are killed once it ends: left running until
  // afterAll, those bound to `#` took in every later test's messages (the broker routing each a
  // copy) and all woke for their timers: perf put ~19 s of the file's 73 s of user CPU in
  // services more than 15 s after their start, most of it after their test was over.
  beforeEach(({ onTestFinished }) => {
    const before = services.length;
    onTestFinished(async ({ task }) => {
      const mine = services.slice(before);
      if (task.result?.state === 'fail')
        for (const s of mine)
          console.log(
            `service ${s.base}: exit code ${s.child.exitCode}, signal ${s.child.signalCode}; its last log lines:\n${s.logs.slice(-40).join('\n')}`,
          );
      for (const s of mine) await s.stop('SIGKILL');
    });
  });

  beforeAll(async () => {
    // TLS and broker restarts need a broker of our own; the rest may use STATSCACHE_TEST_AMQP_URL.
    broker = await startBroker({ tls: true, forcePrivate: true });
    console.log(`private rabbitmq-server started in ${Math.round(broker.startMs)} ms (openssl certificates included)`);
    main = process.env['STATSCACHE_TEST_AMQP_URL'] ? await startBroker() : broker;
    pub = await connectAmqpPublisher(main.url);
  }, 150_000);
  afterAll(async () => {
    await pub?.close();
    for (const s of services) await s.stop('SIGKILL');
    for (const d of dirs) d.remove();
    if (main && main !== broker) await main.stop();
    await broker?.stop();
  }, 60_000);

  it('counts the 510 real messages exactly as the same messages over ZeroMQ, with users and packages from the headers', async () => {
    const amqp = await start(['--amqp', main.url]);
    const zmq = await start([]);
    const a = await consuming(amqp);
    expect(a.durable_queue).toBe(false);
    expect(a.queue).toMatch(/^amq\.gen-/);
    const batch: RawEnvelope[] = recentSamples(Math.floor(Date.now() / 1000));

    const zpub = await joinedPublisher(zmq);
    let t = performance.now();
    for (const e of batch) await zpub.send(e.topic, JSON.stringify(e));
    await countReaches(zmq, 'volume-by-category-1d', batch.length);
    const zmqMs = performance.now() - t;
    zpub.close();

    t = performance.now();
    for (const e of batch) pub.publish(toWire(e));
    await pub.confirmed();
    await countReaches(amqp, 'volume-by-category-1d', batch.length);
    const amqpMs = performance.now() - t;
    console.log(
      `510 messages: ZeroMQ ${Math.round((batch.length * 1000) / zmqMs)} msg/s, AMQP ${Math.round((batch.length * 1000) / amqpMs)} msg/s (publish to counted)`,
    );

    for (const ident of ['volume-by-category-1d', 'volume-by-category-1m', 'volume-1m']) {
      expect(byKey(await allRows(amqp.base, ident)), ident).toEqual(byKey(await allRows(zmq.base, ident)));
    }
    const idents = (await getJson(`${amqp.base}/api/`)).body as string[];
    const keyed = idents.filter((i) => /^volume-by-(user|package)-/.test(i));
    expect(keyed.length).toBeGreaterThanOrEqual(2);
    for (const ident of keyed) {
      const rows = await allRows(amqp.base, ident);
      expect(rows.length, ident).toBeGreaterThan(0);
      expect(byKey(rows), ident).toEqual(byKey(await allRows(zmq.base, ident)));
    }
    // Acked only after the journal commit: the broker holds nothing for us once all is counted.
    await eventually(
      async () => ((await ready(amqp)).amqp?.[0]?.acked === batch.length ? true : undefined),
      10_000,
      'every delivery acked',
    );
    expect(await metric(amqp, `statscache_amqp_deliveries_total{input="${a.input}"}`)).toBe(batch.length);
  });

  it('acks and counts a malformed delivery by reason, keeps consuming, and prefers header users/packages', async () => {
    const svc = await start(['--amqp', main.url, '--amqp-binding', 'org.fedoraproject.prod.amqptest.#']);
    const a = await consuming(svc);
    const topic = 'org.fedoraproject.prod.amqptest.thing';
    const now = Math.floor(Date.now() / 1000);
    pub.publishRaw(topic, '{not json', { messageId: randomUUID(), headers: { 'sent-at': sentAt(now) } });
    pub.publishRaw(topic, '[1,2,3]', { messageId: randomUUID(), headers: { 'sent-at': sentAt(now) } });
    pub.publishRaw(topic, '{"a":1}', { messageId: randomUUID(), headers: { 'sent-at': 'yesterday-ish' } });
    pub.publishRaw(topic, '{"a":1}', { messageId: randomUUID(), headers: { 'sent-at': sentAt(now + 86_400) } });
    // Not bound: never delivered to this queue at all.
    pub.publishRaw('org.fedoraproject.prod.other.thing', '{"a":1}', {
      messageId: randomUUID(),
      headers: { 'sent-at': sentAt(now) },
    });
    const good = {
      messageId: randomUUID(),
      headers: { 'sent-at': sentAt(now), fedora_messaging_user_headeronly: true, fedora_messaging_rpm_headerpkg: true },
    };
    // The body names someone else: the publisher's headers win.
    pub.publishRaw(topic, JSON.stringify({ agent: 'bodyuser', user: { name: 'bodyuser' } }), good);
    pub.publishRaw(topic, JSON.stringify({ agent: 'bodyuser', user: { name: 'bodyuser' } }), good); // the same message again: counted once
    await pub.confirmed();
    await countReaches(svc, 'volume-1m', 1);
    await eventually(
      async () => ((await ready(svc)).amqp?.[0]?.acked === 6 ? true : undefined),
      10_000,
      'all six deliveries acked',
    );
    for (const [reason, n] of [
      ['invalid_json', 1],
      ['not_object', 1],
      ['bad_timestamp', 1],
      ['future_timestamp', 1],
    ] as const) {
      expect(
        await metric(svc, `statscache_amqp_decode_errors_total{input="${a.input}",reason="${reason}"}`),
        reason,
      ).toBe(n);
      expect(await metric(svc, `statscache_bus_decode_errors_total{reason="${reason}"}`), reason).toBe(n);
    }
    expect(await metric(svc, `statscache_amqp_duplicates_total{input="${a.input}"}`)).toBe(1);
    const users = (await getJson(`${svc.base}/api/`)).body as string[];
    const userIdent = users.find((i) => i.startsWith('volume-by-user-')) as string;
    const packageIdent = users.find((i) => i.startsWith('volume-by-package-')) as string;
    const userRows = await allRows(svc.base, userIdent);
    expect(userRows.flatMap((r) => Object.values(r).filter((v) => typeof v === 'string'))).toEqual(['headeronly']);
    expect(
      (await allRows(svc.base, packageIdent)).flatMap((r) => Object.values(r).filter((v) => typeof v === 'string')),
    ).toEqual(['headerpkg']);
    if (main.private) {
      const queues = await main.ctl('list_queues', '-q', 'name', 'messages', 'messages_unacknowledged');
      const line = queues.split('\n').find((l) => l.startsWith(a.queue ?? '?'));
      expect(line?.split(/\s+/).slice(1)).toEqual(['0', '0']);
    }
  });

  it('loses nothing and doubles nothing across SIGKILLs with unacked deliveries on a durable queue', async () => {
    const queue = `statscache-test-${randomUUID()}`;
    const dir = tempDir();
    const args = ['--amqp', main.url, '--amqp-queue', queue, '--amqp-prefetch', '200'];
    const batch = recentSamples(Math.floor(Date.now() / 1000));
    const [first, second] = [batch.slice(0, 300), batch.slice(300)];
    const fake = await new FakeDatagrepper().start();
    try {
      // 1. Killed mid-stream: whatever was delivered but not yet acked goes back to the queue.
      let svc = await start(args, dir);
      expect(await consuming(svc)).toMatchObject({ queue, durable_queue: true });
      for (const e of first) pub.publish(toWire(e));
      await pub.confirmed();
      const mid = await eventually(
        async () => {
          const r = (await ready(svc)).amqp?.[0];
          return r && r.acked > 0 ? r : undefined;
        },
        20_000,
        'some deliveries acked',
      );
      await svc.stop('SIGKILL');
      console.log(`SIGKILL mid-stream with ${mid.deliveries} delivered, ${mid.acked} acked (of ${first.length})`);

      // 2. Killed while deliveries are certainly unacked: held back behind a start-up backfill that keeps failing.
      fake.failNext = 1_000_000;
      svc = await start([...args, '--datagrepper', fake.url], dir);
      for (const e of second) pub.publish(toWire(e));
      await pub.confirmed();
      const held = await eventually(
        async () => {
          const r = (await ready(svc)).amqp?.[0];
          return r && r.deliveries >= Math.min(200, second.length) ? r : undefined;
        },
        20_000,
        'a full prefetch window held',
      );
      expect(held.acked).toBe(0);
      await svc.stop('SIGKILL');

      // 3. Restarted: every message exactly once.
      svc = await start(args, dir);
      await countReaches(svc, 'volume-by-category-1d', batch.length);
      await eventually(
        async () => ((await ready(svc)).amqp?.[0]?.state === 'consuming' ? true : undefined),
        10_000,
        'consuming',
      );
      // Nothing more can arrive, and nothing counted twice is still on its way: the queue holds no
      // ready message and every delivery is acked, and a delivery is acked only once it is
      // committed and applied (or dropped as a duplicate). Before, a 500 ms pause hoped for this.
      const conn = await amqplib.connect(main.url);
      try {
        const ch = await conn.createChannel();
        await eventually(
          async () => {
            const a = (await ready(svc)).amqp?.[0];
            const { messageCount } = await ch.checkQueue(queue);
            return messageCount === 0 && a !== undefined && a.acked === a.deliveries ? true : undefined;
          },
          20_000,
          'the queue drained and every delivery acked',
        );
      } finally {
        await conn.close();
      }
      expect(await total(svc.base, 'volume-by-category-1d')).toBe(batch.length);
      expect(await total(svc.base, 'volume-1m')).toBe(batch.length);
      if (main.private) {
        expect(await readyMessages(main.url, queue)).toBe(0);
        await deleteQueue(main.url, queue);
      }
    } finally {
      await fake.close();
    }
  }, 150_000);

  it('reconnects after a broker restart and keeps counting', async () => {
    const svc = await start(['--amqp', broker.url]);
    const a = await consuming(svc);
    const bpub = main === broker ? pub : await connectAmqpPublisher(broker.url);
    const batch = recentSamples(Math.floor(Date.now() / 1000));
    const [first, second] = [batch.slice(0, 200), batch.slice(200)];
    for (const e of first) bpub.publish(toWire(e));
    await bpub.confirmed();
    await countReaches(svc, 'volume-1m', first.length);
    if (bpub !== pub) await bpub.close();
    else await pub.close();

    await broker.restartApp();
    pub = await connectAmqpPublisher(main.url);
    const bpub2 = main === broker ? pub : await connectAmqpPublisher(broker.url);
    const back = await consuming(svc, 2);
    expect(back.queue).not.toBe(a.queue); // a server-named queue is new on every connection
    // What was published while it was down never reached the new queue: without --datagrepper, the log says so.
    await eventually(
      async () =>
        svc.logs.some((l) => l.includes('messages published meanwhile were missed (no --datagrepper to backfill them)'))
          ? true
          : undefined,
      5_000,
      'the log to say what the reconnect missed',
    );
    for (const e of second) bpub2.publish(toWire(e));
    await bpub2.confirmed();
    await countReaches(svc, 'volume-1m', batch.length);
    if (bpub2 !== pub) await bpub2.close();
  });

  it('logs in over TLS with a client certificate and SASL EXTERNAL', async () => {
    const certs = broker.certs;
    expect(certs).not.toBeNull();
    const svc = await start([
      '--amqp',
      broker.tlsUrl as string,
      '--amqp-ca',
      certs?.ca ?? '',
      '--amqp-cert',
      certs?.clientCert ?? '',
      '--amqp-key',
      certs?.clientKey ?? '',
    ]);
    const a = await consuming(svc);
    expect(a.input).toMatch(/^amqps:\/\/localhost:\d+\/$/);
    const connections = await broker.ctl('list_connections', '-q', 'user', 'auth_mechanism', 'ssl');
    expect(connections).toMatch(/guest\s+EXTERNAL\s+true/);
    const bpub = main === broker ? pub : await connectAmqpPublisher(broker.url);
    const batch = recentSamples(Math.floor(Date.now() / 1000)).slice(0, 50);
    for (const e of batch) bpub.publish(toWire(e));
    await bpub.confirmed();
    await countReaches(svc, 'volume-1m', batch.length);
    if (bpub !== pub) await bpub.close();
  });

  it('backfills from /v2/search, then counts the same messages arriving over AMQP once', async () => {
    const batch = recentSamples(Math.floor(Date.now() / 1000));
    const wire = batch.map(toWire);
    const fake = await new FakeDatagrepper().start();
    try {
      // What datanommer archived from the bus: the first 300, with their fedora-messaging ids.
      fake.messages.push(
        ...batch.slice(0, 300).map(
          (e, i): Stored => ({
            ...e,
            timestamp: e.timestamp as number,
            msg_id: wire[i]?.messageId,
            headers: wire[i]?.headers,
          }),
        ),
      );
      const queue = `statscache-test-${randomUUID()}`;
      const svc = await start(['--amqp', main.url, '--amqp-queue', queue, '--datagrepper', fake.searchUrl]);
      await waitReady(svc, 20_000);
      expect(await total(svc.base, 'volume-1m')).toBe(300);
      const a = await consuming(svc);
      for (const m of wire) pub.publish(m);
      await pub.confirmed();
      await countReaches(svc, 'volume-1m', batch.length);
      await eventually(
        async () => ((await ready(svc)).amqp?.[0]?.acked === batch.length ? true : undefined),
        10_000,
        'every delivery acked',
      );
      expect(await total(svc.base, 'volume-1m')).toBe(batch.length);
      expect(await metric(svc, `statscache_amqp_duplicates_total{input="${a.input}"}`)).toBe(300);
      if (main.private) await deleteQueue(main.url, queue);
    } finally {
      await fake.close();
    }
  });

  it('backfills what was published while its durable queue was deleted, once it declares the queue again', async () => {
    const batch = recentSamples(Math.floor(Date.now() / 1000));
    const wire = batch.map(toWire);
    const stored = (i: number): Stored => ({
      ...(batch[i] as RawEnvelope),
      timestamp: batch[i]?.timestamp as number,
      msg_id: wire[i]?.messageId,
      headers: wire[i]?.headers,
    });
    const fake = await new FakeDatagrepper().start();
    try {
      const queue = `statscache-test-${randomUUID()}`;
      const svc = await start([
        '--amqp',
        main.url,
        '--amqp-queue',
        queue,
        '--datagrepper',
        fake.searchUrl,
        '--gap-backfill-interval',
        '1',
      ]);
      await consuming(svc);
      for (const m of wire.slice(0, 100)) pub.publish(m);
      await pub.confirmed();
      await countReaches(svc, 'volume-1m', 100);
      // Published while the queue was gone: archived by datanommer, never routed to any queue of ours.
      fake.messages.push(...batch.slice(0, 200).map((_, i) => stored(i)));
      await deleteQueue(main.url, queue);
      await consuming(svc, 2);
      // It used to consume the new queue and never look back: 100 of 200.
      await countReaches(svc, 'volume-1m', 200);
      // Logged when the broker cancelled, but stdout may bring the line after the HTTP answers above (loggedLine).
      await loggedLine(
        svc,
        (l) => l.includes('"msg":"AMQP input closed"') && l.includes('the broker cancelled the consumer'),
        'the cancel',
      );
      if (main.private) await deleteQueue(main.url, queue);
    } finally {
      await fake.close();
    }
  });

  it('backfills what a server-named queue missed when it came back during the start-up backfill', async () => {
    // The start-up backfill cuts its window when it starts: a queue lost and made anew while it
    // ran lost what was published in between, past that window, and the reconnect was ignored
    // because the service was not running yet (no backfill, no log line).
    const proxy = await tcpProxy(new URL(main.url).port);
    const fake = await new FakeDatagrepper().start();
    let release: () => void = () => undefined;
    fake.hold = new Promise<void>((r) => (release = r));
    try {
      const category = `startgap${randomUUID().slice(0, 8)}`;
      const topic = `org.fedoraproject.prod.${category}.thing`;
      const svc = await start([
        '--amqp',
        main.url.replace(/:\d+\//, `:${proxy.port}/`),
        '--amqp-binding',
        topic,
        '--datagrepper',
        fake.searchUrl,
        '--ready-timeout',
        '120',
        '--gap-backfill-interval',
        '1',
      ]);
      await consuming(svc);
      // The start-up backfill has cut its window and waits on the history.
      await eventually(async () => (fake.requests > 0 ? true : undefined), 15_000, 'the start-up backfill asking');
      // Published after that window's end, while no queue of ours existed: only the history has them.
      const missedAt = Math.floor(Date.now() / 1000) + 1;
      await eventually(async () => (Date.now() > missedAt * 1000 + 100 ? true : undefined), 5_000, 'the clock');
      historyOnly(fake, topic, missedAt, 5);
      proxy.cut();
      await consuming(svc, 2);
      expect((await getJson(`${svc.base}/readyz`)).status).toBe(503);
      release();
      fake.hold = null;
      await waitReady(svc, 15_000);
      await countReaches(svc, 'volume-1m', 5, 15_000);
      // Logged as the backfill began, but stdout may bring the line after the HTTP answers above (loggedLine).
      await loggedLine(svc, (l) => l.includes('backfilling what was published meanwhile'), 'the backfill');
    } finally {
      release();
      await fake.close();
      proxy.close();
    }
  });

  it('backfills what was published between the start-up backfill and its first server-named queue', async () => {
    // A broker out of reach at start-up (or a connect slower than replay): the start-up backfill
    // ended its window before the first queue existed, and what was published in between reached
    // neither. A first queue is no reconnect, so nothing filled it.
    const port = await freePort();
    const fake = await new FakeDatagrepper().start();
    let proxy: Awaited<ReturnType<typeof tcpProxy>> | null = null;
    try {
      const topic = `org.fedoraproject.prod.firstgap${randomUUID().slice(0, 8)}.thing`;
      const svc = await start([
        '--amqp',
        main.url.replace(/:\d+\//, `:${port}/`),
        '--amqp-binding',
        topic,
        '--datagrepper',
        fake.searchUrl,
        '--gap-backfill-interval',
        '1',
      ]);
      await waitReady(svc, 15_000);
      expect((await ready(svc)).amqp?.[0]?.state).not.toBe('consuming');
      const windowEnd = fake.windows[0]?.end as number;
      const missedAt = Math.floor(windowEnd) + 1;
      await eventually(async () => (Date.now() > missedAt * 1000 + 100 ? true : undefined), 5_000, 'the clock');
      historyOnly(fake, topic, missedAt, 5);
      proxy = await tcpProxy(new URL(main.url).port, port);
      await consuming(svc);
      await countReaches(svc, 'volume-1m', 5, 15_000);
    } finally {
      proxy?.close();
      await fake.close();
    }
  });

  it('backfills what was published while its durable queue vanished with the connection down, once it declares it again', async () => {
    // Deleted while no consumer was there to be cancelled (an operator, a policy, a broker reset
    // while the connection was down): the declare made it anew without a word, and what it held
    // and what was published before that was never looked for.
    const proxy = await tcpProxy(new URL(main.url).port);
    const fake = await new FakeDatagrepper().start();
    const queue = `statscache-test-${randomUUID()}`;
    const topic = `org.fedoraproject.prod.vanished${randomUUID().slice(0, 8)}.thing`;
    try {
      const svc = await start([
        '--amqp',
        main.url.replace(/:\d+\//, `:${proxy.port}/`),
        '--amqp-queue',
        queue,
        '--amqp-binding',
        topic,
        '--datagrepper',
        fake.searchUrl,
        '--gap-backfill-interval',
        '1',
      ]);
      await waitReady(svc, 15_000);
      await consuming(svc);
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 3; i++)
        pub.publishRaw(topic, JSON.stringify({ i }), { messageId: randomUUID(), headers: { 'sent-at': sentAt(now) } });
      await pub.confirmed();
      await countReaches(svc, 'volume-1m', 3);
      proxy.refuseNew(true);
      proxy.cut();
      await eventually(
        async () => ((await ready(svc)).amqp?.[0]?.state === 'consuming' ? undefined : true),
        10_000,
        'the input down',
      );
      await deleteQueue(main.url, queue);
      // Published while the queue was gone: archived by datanommer, never routed to any queue of ours.
      const missedAt = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 4; i++)
        fake.messages.push({
          topic,
          timestamp: missedAt,
          msg: { missed: i },
          msg_id: randomUUID(),
          headers: { 'sent-at': sentAt(missedAt) },
        });
      proxy.refuseNew(false);
      await consuming(svc, 2);
      await countReaches(svc, 'volume-1m', 7, 15_000);
    } finally {
      proxy.close();
      await fake.close();
      if (main.private) await deleteQueue(main.url, queue).catch(() => undefined);
    }
  });

  it('holds deliveries unacked while starting up, and stores them on SIGTERM without losing any', async () => {
    const fake = await new FakeDatagrepper().start();
    fake.failNext = 1_000_000; // the start-up backfill keeps retrying: live deliveries stay held
    const queue = `statscache-test-${randomUUID()}`;
    const dir = tempDir();
    try {
      const limit = ['--max-frame-bytes', '65536'];
      const svc = await start(['--amqp', main.url, '--amqp-queue', queue, '--datagrepper', fake.url, ...limit], dir);
      const a = await consuming(svc);
      const batch = recentSamples(Math.floor(Date.now() / 1000)).slice(0, 40);
      // Oversized bodies are refused (acked, counted) at once: a held window never pins their bytes.
      const huge = JSON.stringify({ pad: 'x'.repeat(200_000) });
      for (let i = 0; i < 3; i++)
        pub.publishRaw('org.fedoraproject.prod.amqptest.huge', huge, {
          messageId: randomUUID(),
          headers: { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) },
        });
      for (const e of batch) pub.publish(toWire(e));
      await pub.confirmed();
      const held = await eventually(
        async () => {
          const r = await getJson(`${svc.base}/readyz`);
          const a = (r.body as Ready).amqp?.[0];
          return r.status === 503 && a?.deliveries === 28 ? a : undefined;
        },
        15_000,
        'a prefetch window of held deliveries',
      );
      expect(held.acked).toBe(3);
      expect(await metric(svc, `statscache_amqp_decode_errors_total{input="${a.input}",reason="oversized"}`)).toBe(3);
      expect(await svc.stop('SIGTERM')).toBe(0);
      const again = await start(['--amqp', main.url, '--amqp-queue', queue, ...limit], dir);
      await countReaches(again, 'volume-1m', batch.length);
      await eventually(
        async () => ((await ready(again)).amqp?.[0]?.acked === batch.length - 25 ? true : undefined),
        10_000,
        'the rest acked after the restart',
      );
      if (main.private) await deleteQueue(main.url, queue);
    } finally {
      await fake.close();
    }
  });

  it('unbinds routing keys dropped from the configuration of a durable queue, and lets one service consume it', async () => {
    const queue = `statscache-test-${randomUUID()}`;
    const dir = tempDir();
    const [oldTopic, newTopic] = ['org.fedoraproject.prod.oldbinding.x', 'org.fedoraproject.prod.newbinding.x'];
    const now = Math.floor(Date.now() / 1000);
    const publish = (topic: string) =>
      pub.publishRaw(topic, '{"a":1}', { messageId: randomUUID(), headers: { 'sent-at': sentAt(now) } });
    const first = await start(
      ['--amqp', main.url, '--amqp-queue', queue, '--amqp-binding', 'org.*.*.oldbinding.#'],
      dir,
    );
    await consuming(first);
    expect(await first.stop('SIGTERM')).toBe(0);
    const svc = await start(['--amqp', main.url, '--amqp-queue', queue, '--amqp-binding', 'org.*.*.newbinding.#'], dir);
    await consuming(svc);
    // Logged before it consumed, but stdout may bring the line after the HTTP answers above (loggedLine).
    const unbound = await loggedLine(
      svc,
      (l) => l.includes('AMQP bindings no longer configured removed'),
      'the unbinding',
    );
    expect(unbound).toContain('"keys":["org.*.*.oldbinding.#"]');
    // In queue order: had the old binding stayed, the first message would be counted before the second.
    publish(oldTopic);
    publish(newTopic);
    await pub.confirmed();
    await countReaches(svc, 'volume-1m', 1);
    expect(await total(svc.base, 'volume-by-category-1d')).toBe(1);
    expect((await ready(svc)).amqp?.[0]?.deliveries).toBe(1);

    // A second service on the same queue (another data dir) is refused by the broker instead of
    // silently taking every other message, says so, and takes over once the first one stops.
    const second = await start(['--amqp', main.url, '--amqp-queue', queue, '--amqp-binding', 'org.*.*.newbinding.#']);
    const refused = await eventually(
      async () => {
        const r = await getJson(`${second.base}/readyz`);
        const body = r.body as Ready;
        return body.amqp?.[0]?.state === 'closed' && /another consumer/.test(body.amqp[0].reason ?? '')
          ? body
          : undefined;
      },
      20_000,
      'the second consumer refused',
    );
    expect(refused.degraded).toMatch(/AMQP input not consuming/);
    expect(refused.amqp?.[0]?.reason).toContain(queue);
    publish(newTopic);
    await pub.confirmed();
    await countReaches(svc, 'volume-1m', 2);
    expect(await svc.stop('SIGTERM')).toBe(0);
    await consuming(second);
    publish(newTopic);
    await pub.confirmed();
    await countReaches(second, 'volume-1m', 1);
    if (main.private) await deleteQueue(main.url, queue);
  });

  it('keeps backing off while every delivery fails to store, and starts over once one is acked', async () => {
    // In-process: the reconnect schedule is read off an injected timer instead of waited for.
    const queue = `statscache-test-${randomUUID()}`;
    const topic = `org.fedoraproject.prod.backofftest.${randomUUID()}`;
    const timers = recordedReconnects();
    const { delays, fire } = timers;
    let storing = false;
    const input = new AmqpInput({
      url: main.url,
      bindings: [topic],
      queue,
      prefetch: 5,
      heartbeatSeconds: 30,
      tls: {},
      reconnect: { initialMs: 100, maxMs: 60_000 },
      onDelivery: () => (storing ? Promise.resolve() : Promise.reject(new Error('disk full'))),
      random: () => 1,
      ...timers.options,
    });
    try {
      input.start();
      await expect.poll(() => input.current.state, { timeout: 10_000 }).toBe('consuming');
      pub.publishRaw(topic, '{"a":1}', { messageId: randomUUID() });
      await pub.confirmed();
      // Each reconnect is redelivered the same message, fails to store it, and waits twice as long.
      for (let i = 1; i <= 4; i++) {
        await expect.poll(() => delays.length, { timeout: 10_000 }).toBe(i);
        if (i < 4) fire[i - 1]?.();
      }
      expect(delays).toEqual([100, 200, 400, 800]);
      expect(input.current.reason).toMatch(/delivery not stored: disk full; reconnecting in 800 ms/);
      expect(input.current.acked).toBe(0);
      // The disk is back: the redelivery is stored and acked, and the next failure starts from the initial delay.
      storing = true;
      fire[3]?.();
      await expect.poll(() => input.current.acked, { timeout: 10_000 }).toBe(1);
      storing = false;
      pub.publishRaw(topic, '{"a":2}', { messageId: randomUUID() });
      await pub.confirmed();
      await expect.poll(() => delays.length, { timeout: 10_000 }).toBe(5);
      expect(delays[4]).toBe(100);
      expect(input.current.connects).toBe(5);
    } finally {
      await input.close();
      await deleteQueue(main.url, queue);
    }
  });

  it('acks and counts a delivery whose headers nest 8000 tables deep as too_deep, and counts everything around it', async () => {
    // amqplib decoded such headers recursively while parsing the frame: the stack overflowed,
    // the connection closed before the delivery reached the service, and the broker put it back
    // at the head of the durable queue on every reconnect (5 of 25 counted, health "consuming").
    const queue = `statscache-test-${randomUUID()}`;
    const category = `deeptest${randomUUID().slice(0, 8)}`;
    const topic = `org.fedoraproject.prod.${category}.thing`;
    const svc = await start(['--amqp', main.url, '--amqp-queue', queue, '--amqp-binding', topic]);
    const a = await consuming(svc);
    const now = Math.floor(Date.now() / 1000);
    const good = (i: number) =>
      pub.publishRaw(topic, JSON.stringify({ i }), { messageId: `${queue}-${i}`, headers: { 'sent-at': sentAt(now) } });
    for (let i = 0; i < 5; i++) good(i);
    await pub.confirmed();
    // The publisher's own encoder recurses too: it runs on a thread with a stack big enough.
    await publishDeep(main.url, topic, 8000, sentAt(now));
    for (let i = 5; i < 25; i++) good(i);
    await pub.confirmed();
    await countReaches(svc, 'volume-1m', 25);
    await eventually(
      async () => ((await ready(svc)).amqp?.[0]?.acked === 26 ? true : undefined),
      15_000,
      'all 26 deliveries acked',
    );
    expect(await metric(svc, `statscache_amqp_decode_errors_total{input="${a.input}",reason="too_deep"}`)).toBe(1);
    expect(await metric(svc, `statscache_amqp_connects_total{input="${a.input}"}`)).toBe(1);
    if (main.private) {
      expect(await readyMessages(main.url, queue)).toBe(0);
    }
  });

  it('keeps what a server-named queue delivered while the disk refused writes, and writes it once it can', async () => {
    // Dropping the connection to get a redelivery (as for a durable queue) deleted the
    // exclusive queue with what it held: 323 of 600 kept through a 30 s outage.
    const dir = tempDir();
    dirs.push(dir);
    const category = `disktest${randomUUID().slice(0, 8)}`;
    const topic = `org.fedoraproject.prod.${category}.thing`;
    const svc = await startService(
      [
        '--data-dir',
        dir.path,
        '--snapshot-interval',
        '3600',
        '--bus-thread',
        'false',
        '--amqp',
        main.url,
        '--amqp-binding',
        topic,
      ],
      {},
      { fileSizeLimitKb: 1024 },
    );
    services.push(svc);
    await consuming(svc);
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ pad: 'x'.repeat(2000) });
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++, sent++)
        pub.publishRaw(topic, body, { messageId: `${category}-${sent}`, headers: { 'sent-at': sentAt(now) } });
      await pub.confirmed();
    };
    await eventually(
      async () => {
        await send(100);
        return (await metric(svc, 'statscache_intake_total{event="journal_write_errors"}')) > 0 ? true : undefined;
      },
      60_000,
      'a journal commit refused by the file size limit',
    );
    await send(100);
    await countReaches(svc, 'volume-1m', sent);
    // A retry can find room the refused commit left in the file and write what was held before
    // the limit is lifted (seen once, between these two reads): more messages, until held
    // records and the degraded reason are read together.
    const degraded = await eventually(
      async () => {
        const held = await metric(svc, 'statscache_journal_unwritten_records{state="held"}');
        const reason = (await ready(svc)).degraded;
        if (held > 0 && reason !== undefined) return reason;
        await send(20);
        await countReaches(svc, 'volume-1m', sent);
        return undefined;
      },
      60_000,
      'held records and the degraded reason read together',
    );
    expect(degraded).toMatch(/journal writes failing/);
    // One connection throughout: the queue was never dropped.
    expect((await ready(svc)).amqp?.[0]?.state).toBe('consuming');
    // The loop above swallows a countReaches that timed out (eventually retries on a throw), so
    // messages sent may still be on their way; held 0 below proves them on disk only once each
    // was received before the limit is lifted.
    await countReaches(svc, 'volume-1m', sent);
    execFileSync('prlimit', ['--pid', String(svc.child.pid), '--fsize=unlimited']);
    await eventually(
      async () => ((await metric(svc, 'statscache_journal_unwritten_records{state="held"}')) === 0 ? true : undefined),
      60_000,
      'the held records written',
    );
    expect(await total(svc.base, 'volume-1m')).toBe(sent);
    expect(((await getJson(`${svc.base}/raw?rows_per_page=1`)).body as { total: number }).total).toBe(sent);
  }, 150_000);

  it('stops within its close bound when the broker stops answering, and says it dropped the socket', async () => {
    const proxy = await tcpProxy(new URL(main.url).port);
    const queue = `statscache-test-${randomUUID()}`;
    const input = new AmqpInput({
      url: main.url.replace(/:\d+\//, `:${proxy.port}/`),
      bindings: ['org.fedoraproject.prod.closetest.#'],
      queue,
      prefetch: 5,
      heartbeatSeconds: 0,
      tls: {},
      reconnect: { initialMs: 100, maxMs: 1000 },
      onDelivery: () => Promise.resolve(),
      closeStepMs: 300,
    });
    try {
      input.start();
      await expect.poll(() => input.current.state, { timeout: 10_000 }).toBe('consuming');
      proxy.blackhole();
      const t0 = performance.now();
      await input.close();
      // Three steps (cancel, channel close, connection close) of 300 ms at most, not --stop-timeout.
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(input.current).toMatchObject({
        state: 'closed',
        reason: 'stopped (the broker did not answer; socket dropped)',
      });
    } finally {
      proxy.close();
      await deleteQueue(main.url, queue);
    }
  });

  it('gives up on a broker that accepts the connection and never answers, and consumes once it answers again', async () => {
    const proxy = await tcpProxy(new URL(main.url).port);
    proxy.hangNew(true);
    const input = new AmqpInput({
      url: main.url.replace(/:\d+\//, `:${proxy.port}/`),
      bindings: ['org.fedoraproject.prod.setuptest.#'],
      queue: null,
      prefetch: 5,
      heartbeatSeconds: 30,
      tls: {},
      reconnect: { initialMs: 50, maxMs: 200 },
      onDelivery: () => Promise.resolve(),
      setupTimeoutMs: 500,
    });
    try {
      input.start();
      // It used to wait at `connecting` on the first connection for good: one accepted, no retry.
      await expect.poll(() => proxy.accepted(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      await expect
        .poll(() => input.current.reason ?? '', { timeout: 10_000 })
        .toMatch(/^the broker did not answer within 0\.5 s of connecting; reconnecting in \d+ ms$/);
      expect(input.current.state).not.toBe('consuming');
      proxy.hangNew(false);
      await expect.poll(() => input.current.state, { timeout: 10_000 }).toBe('consuming');
      expect(input.current.connects).toBe(1);
    } finally {
      await input.close();
      proxy.close();
    }
  });

  it('stays ready but degraded, and says why, while its broker is unreachable', async () => {
    const svc = await start(['--amqp', 'amqp://guest:secret@127.0.0.1:1/']);
    const r = await eventually(
      async () => {
        const res = await getJson(`${svc.base}/readyz`);
        const body = res.body as Ready;
        return res.status === 200 && body.amqp?.[0]?.state === 'closed' ? body : undefined;
      },
      15_000,
      'closed input in /readyz',
    );
    expect(r.degraded).toMatch(/AMQP input not consuming: amqp:\/\/127\.0\.0\.1:1\/ \(closed/);
    expect(r.degraded).not.toContain('secret');
    expect(r.amqp?.[0]?.reason).toMatch(/ECONNREFUSED/);
    expect(r.amqp?.[0]?.input).toBe('amqp://127.0.0.1:1/'); // never the password
    expect(await metric(svc, `statscache_amqp_state{input="amqp://127.0.0.1:1/",state="closed"}`)).toBe(1);
    // Logged as the state changed, but stdout may bring the line after the HTTP answers above (loggedLine): until that line is here, "no secret in
    // the logs" would not have looked at it.
    await loggedLine(
      svc,
      (l) => l.includes('"msg":"AMQP input closed"') && l.includes('ECONNREFUSED'),
      'the closed input',
    );
    expect(svc.logs.join('\n')).not.toContain('secret');
    const listening = svc.logs
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; amqp?: unknown };
        } catch {
          return {};
        }
      })
      .find((l) => l.msg === 'statscache listening');
    expect(listening?.amqp).toEqual([
      { input: 'amqp://127.0.0.1:1/', state: 'connecting', queue: null, bindings: ['#'] },
    ]);
  });
});
