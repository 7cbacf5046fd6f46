/**
 * An AMQP input thread that failed past --amqp-thread-restarts left its inputs closed for the
 * rest of the run while /healthz and /readyz answered 200 `degraded`: an instance whose intake
 * is AMQP took nothing in, green, and no supervisor restarted it. It now ends as a dead bus
 * thread does: /healthz and /readyz 503 naming the thread, `serve` stops (final snapshot) and
 * exits 1, and the next start takes in what the durable queue kept meanwhile.
 *
 * The thread is ended by its test hook STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_KEY (it exits
 * after posting the batch holding that routing key's first delivery), as in
 * test/amqp/amqp-input-thread.test.ts. The stop would be over before a probe could see the 503,
 * so the data file's write lock is held meanwhile (hold-write-lock.mjs, a disk that hangs): the
 * final snapshot waits on it, and the process answers its probes until the lock is let go.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else the run's shared private broker or a
 * private rabbitmq-server (test/helpers/shared-broker.ts). Its durable queue is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAmqpPublisher, sentAt, type TestPublisher } from '../helpers/amqp-publisher.js';
import { amqpReady, consumingInput } from '../helpers/amqp-readiness.js';
import { journaledAndApplied, loggedLine, metricOf } from '../helpers/probes.js';
import type { TestBroker } from '../helpers/rabbitmq.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { sharedBroker } from '../helpers/shared-broker.js';
import { holdWriteLock, type WriteLockHolder } from '../helpers/write-lock-holder.js';

const EXIT_KEY = 'STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_KEY';
const GONE =
  /the AMQP input thread exited \(code 3\); not started again \(1 failure this run; 0 fresh threads in a row failed too; --amqp-thread-restarts 0\)/;

describe('an AMQP input thread gone past --amqp-thread-restarts, in serve', () => {
  const dir = tempDir();
  const queue = `statscache-test-${randomUUID()}`;
  const name = `threadgone${randomUUID().slice(0, 8)}`;
  const topic = `org.fedoraproject.prod.${name}.thing`;
  const doomed = `org.fedoraproject.prod.${name}.doomed`;
  let broker: TestBroker | undefined;
  let pub: TestPublisher | undefined;
  const services: RunningService[] = [];
  let holder: WriteLockHolder | null = null;
  beforeAll(async () => {
    broker = await sharedBroker();
    pub = await connectAmqpPublisher(broker.url);
  }, 150_000);
  afterAll(async () => {
    holder?.kill();
    for (const s of services) await s.stop('SIGKILL');
    await pub?.close();
    if (broker) {
      const conn = await amqplib.connect(broker.url);
      await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
      await conn.close();
    }
    await broker?.stop();
    dir.remove();
  }, 60_000);

  const serve = async (env: NodeJS.ProcessEnv = {}): Promise<RunningService> => {
    const url = (broker as TestBroker).url;
    const s = await startService(
      [
        ...['--data-dir', dir.path, '--snapshot-interval', '3600', '--amqp', url, '--amqp-queue', queue],
        ...['--amqp-binding', topic, '--amqp-binding', doomed, '--amqp-thread-restarts', '0'],
      ],
      env,
    );
    services.push(s);
    await consumingInput(s);
    return s;
  };
  const publish = (routingKey: string, id: string) =>
    (pub as TestPublisher).publishRaw(routingKey, JSON.stringify({ id }), {
      messageId: id,
      headers: { 'sent-at': sentAt(Date.now() / 1000 - 60) },
    });

  it('fails /healthz and /readyz naming it, exits 1 after its final snapshot, and the next start takes in what the queue kept', async () => {
    const first = await serve({ [EXIT_KEY]: doomed });
    // 'close': exited, and its stdout read to the end (the final snapshot's line included).
    const closed = once(first.child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    publish(topic, 'a');
    publish(topic, 'b');
    await (pub as TestPublisher).confirmed();
    await eventually(async () => ((await amqpReady(first))?.acked === 2 ? true : undefined), 30_000, 'a and b acked');
    expect((await getJson(`${first.base}/healthz`)).status).toBe(200);

    holder = await holdWriteLock(dir.path);
    publish(doomed, 'doomed');
    await (pub as TestPublisher).confirmed();
    const health = await eventually(
      async () => {
        const r = await getJson(`${first.base}/healthz`);
        return r.status === 503 ? (r.body as { status: string; reason: string }) : undefined;
      },
      30_000,
      '/healthz 503',
    );
    expect(health.status).toBe('failing');
    expect(health.reason).toMatch(GONE);
    const ready = await getJson(`${first.base}/readyz`);
    expect(ready.status).toBe(503);
    expect((ready.body as { reason: string }).reason).toMatch(
      /^intake stopped: the AMQP input thread exited \(code 3\); not started again/,
    );
    expect(await metricOf(first.base, 'statscache_healthy')).toBe(0);
    // Published while no thread consumes: the durable queue keeps them for the next start.
    publish(topic, 'c');
    publish(topic, 'd');
    await (pub as TestPublisher).confirmed();

    await holder.release();
    holder = null;
    // By itself, no signal sent.
    const [code, signal] = await closed;
    expect(signal).toBeNull();
    expect(code).toBe(1);
    const out = first.logs.join('\n');
    expect(out).toMatch(/"msg":"stopping: intake failed; exiting with status 1 for the supervisor to restart"/);
    expect(out).toMatch(/"msg":"final snapshot written"/);

    // Restarted as a supervisor would, without the hook: the queue delivers what it kept (and
    // the doomed delivery again, never acked), each taken in once.
    const second = await serve();
    await eventually(async () => ((await journaledAndApplied(second.base, 5)) ? true : undefined), 30_000, 'all five');
    const conn = await amqplib.connect((broker as TestBroker).url);
    try {
      const ch = await conn.createChannel();
      await eventually(
        async () => ((await ch.checkQueue(queue)).messageCount === 0 ? true : undefined),
        30_000,
        'the queue drained',
      );
    } finally {
      await conn.close();
    }
    expect((await getJson(`${second.base}/healthz`)).status).toBe(200);
    await loggedLine(second, (l) => l.includes('"msg":"ready: consuming the bus live"'), 'the next start');
  }, 150_000);
});
