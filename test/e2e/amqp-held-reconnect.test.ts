/**
 * Live deliveries wait unacked while the service starts up (replay, backfill). A durable queue
 * delivers them again on every new connection, but the copies that came on a lost connection
 * went on waiting too: each reconnect during a long hold kept one more prefetch window in
 * memory (up to --amqp-prefetch × --max-frame-bytes each), all taken in once the hold ended.
 * Now a waiting delivery is let go when its connection is lost (durable queue only; a
 * server-named queue died with its connection and what it delivered is the only copy).
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts). Its durable queue is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { connectAmqpPublisher, sentAt, type TestPublisher } from '../helpers/amqp-publisher.js';
import { amqpReady, consumingInput } from '../helpers/amqp-readiness.js';
import { startBroker, type TestBroker } from '../helpers/rabbitmq.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';

async function metric(svc: RunningService, series: string): Promise<number> {
  const text = String((await getJson(`${svc.base}/metrics`)).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('AMQP deliveries held at start-up across reconnects', () => {
  const dir = tempDir();
  const queue = `statscache-test-${randomUUID()}`;
  let broker: TestBroker | undefined;
  let pub: TestPublisher | undefined;
  let svc: RunningService | undefined;
  beforeAll(async () => {
    broker = await startBroker();
    pub = await connectAmqpPublisher(broker.url);
  }, 150_000);
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    await pub?.close();
    if (broker) {
      const conn = await amqplib.connect(broker.url);
      await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
      await conn.close();
    }
    await broker?.stop();
    dir.remove();
  }, 60_000);

  it('keep one copy of a durable queue window, not one per connection lost meanwhile', async () => {
    const b = broker as TestBroker;
    const p = pub as TestPublisher;
    const fake = await new FakeDatagrepper().start();
    const proxy = await tcpProxy(new URL(b.url).port);
    try {
      fake.failNext = 1_000_000; // the start-up backfill keeps failing: live deliveries stay held
      const topic = `org.fedoraproject.prod.heldtest${randomUUID().slice(0, 8)}.thing`;
      svc = await startService([
        '--data-dir',
        dir.path,
        '--snapshot-interval',
        '3600',
        '--amqp',
        b.url.replace(/:\d+\//, `:${proxy.port}/`),
        '--amqp-queue',
        queue,
        '--amqp-binding',
        topic,
        '--amqp-reconnect-max',
        '1',
        '--datagrepper',
        fake.url,
      ]);
      const running = svc;
      const input = await consumingInput(running);
      const series = (name: string) => metric(running, `statscache_amqp_${name}{input="${input}"}`);
      const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
      const n = 5;
      for (let i = 0; i < n; i++) p.publishRaw(topic, JSON.stringify({ i }), { messageId: `${queue}-${i}`, headers });
      await p.confirmed();
      const lost = 3;
      for (let c = 1; c <= lost + 1; c++) {
        await eventually(
          async () => {
            const a = await amqpReady(running);
            return a?.state === 'consuming' && a.deliveries === n * c ? true : undefined;
          },
          30_000,
          `the window delivered on connection ${c}`,
        );
        if (c <= lost) proxy.cut();
      }
      expect((await amqpReady(running))?.acked).toBe(0);
      fake.failNext = 0;
      const conn = await amqplib.connect(b.url);
      try {
        const ch = await conn.createChannel();
        await eventually(
          async () => {
            const q = await ch.checkQueue(queue);
            const a = await amqpReady(running);
            return q.messageCount === 0 && a?.acked === n ? true : undefined;
          },
          60_000,
          'the window taken in and acked once the backfill succeeds',
        );
      } finally {
        await conn.close();
      }
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(n);
      // The copies of the lost connections were let go, not taken in as duplicates.
      expect(await series('duplicates_total')).toBe(0);
      expect(await series('connects_total')).toBe(lost + 1);
    } finally {
      proxy.close();
      await fake.close();
    }
  }, 150_000);
});
