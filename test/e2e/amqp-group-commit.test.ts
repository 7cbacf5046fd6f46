/**
 * AMQP deliveries share the journal's group commit. Each delivery used to flush the journal
 * itself while it waited for its commit before its ack, so every delivery was a batch of its own
 * (an LMDB write, a hand-on and an ack each) even when a whole prefetch window came in one
 * socket read: a durable queue's backlog drained at about prefetch ÷ commit latency. Now a
 * backlog's deliveries are journaled a window at a time, and still acked only once committed:
 * nothing is lost or doubled.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/shared-broker.ts).
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAmqpPublisher, sentAt, type TestPublisher } from '../helpers/amqp-publisher.js';
import { amqpReady, consumingInput } from '../helpers/amqp-readiness.js';
import { metricOf } from '../helpers/probes.js';
import type { TestBroker } from '../helpers/rabbitmq.js';
import { sharedBroker } from '../helpers/shared-broker.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const N = 600;
const PREFETCH = 100;

describe('a durable queue’s backlog over AMQP', () => {
  let broker: TestBroker;
  let pub: TestPublisher;
  const queue = `statscache-test-${randomUUID()}`;
  const topic = `org.fedoraproject.prod.groupcommit${randomUUID().slice(0, 8)}.thing`;
  const dir = tempDir();
  const running: RunningService[] = [];
  const start = async () => {
    const svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--amqp',
      broker.url,
      '--amqp-queue',
      queue,
      '--amqp-binding',
      topic,
      '--amqp-prefetch',
      String(PREFETCH),
    ]);
    running.push(svc);
    return svc;
  };

  beforeAll(async () => {
    broker = await sharedBroker();
    pub = await connectAmqpPublisher(broker.url);
  }, 150_000);
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    await pub?.close();
    const conn = await amqplib.connect(broker.url);
    await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
    await conn.close();
    dir.remove();
    await broker?.stop();
  }, 60_000);

  it('is journaled a window at a time, every delivery acked once committed, each counted once', async () => {
    // Declared by a first start, then filled while no service consumes it.
    const first = await start();
    await consumingInput(first);
    expect(await first.stop()).toBe(0);
    const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
    for (let i = 0; i < N; i++) pub.publishRaw(topic, JSON.stringify({ i }), { messageId: `${topic}-${i}`, headers });
    await pub.confirmed();

    const svc = await start();
    const input = await consumingInput(svc);
    await eventually(async () => ((await amqpReady(svc))?.acked === N ? true : undefined), 60_000, `${N} acked`);
    const batches = await metricOf(svc.base, 'statscache_journal_batches_total');
    const deliveries = await metricOf(svc.base, 'statscache_amqp_deliveries_total', `input="${input}"`);
    console.log(`${deliveries} deliveries journaled in ${batches} batches (prefetch ${PREFETCH})`);
    expect(deliveries).toBe(N);
    // One batch per delivery before; a window of 100 comes in a few socket reads.
    expect(batches).toBeLessThanOrEqual(N / 4);
    const rows = (await getJson(`${svc.base}/api/volume-1m?rows_per_page=100`)).body as { volume: number }[];
    expect(rows.reduce((sum, r) => sum + r.volume, 0)).toBe(N);

    // Acked only once committed: killed now and started again, nothing is delivered twice or lost.
    await svc.stop('SIGKILL');
    const again = await start();
    await consumingInput(again);
    const replayed = (await getJson(`${again.base}/api/volume-1m?rows_per_page=100`)).body as { volume: number }[];
    expect(replayed.reduce((sum, r) => sum + r.volume, 0)).toBe(N);
    expect((await amqpReady(again))?.deliveries).toBe(0);
  }, 150_000);
});
