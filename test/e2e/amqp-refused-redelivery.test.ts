/**
 * A delivery that cannot be decoded is refused and acked, never requeued, and counted once by
 * reason. It was acked in delivery order behind the deliveries before it, though, and (unless
 * oversized) decoded only once the start-up hold let it through: a connection lost meanwhile
 * left it unacked, the durable queue delivered it again, and both copies were counted, as after
 * each failed journal commit (which drops the connection on purpose): the decode-error metrics
 * said more than arrived.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts). Its durable queue is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { connectAmqpPublisher, sentAt, type TestPublisher } from '../helpers/amqp-publisher.js';
import { startBroker, type TestBroker } from '../helpers/rabbitmq.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { amqpReady, consumingInput } from '../helpers/amqp-readiness.js';

async function metric(svc: RunningService, series: string): Promise<number> {
  const text = String((await getJson(`${svc.base}/metrics`)).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('AMQP deliveries refused as undecodable', () => {
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

  it('are acked at once and counted once when the connection drops while the deliveries before them are held', async () => {
    const b = broker as TestBroker;
    const p = pub as TestPublisher;
    const fake = await new FakeDatagrepper().start();
    const proxy = await tcpProxy(new URL(b.url).port);
    try {
      // The start-up backfill keeps failing: valid deliveries are held unacked meanwhile.
      fake.failNext = 1_000_000;
      const topic = `org.fedoraproject.prod.refusetest${randomUUID().slice(0, 8)}.thing`;
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
        '--max-frame-bytes',
        '65536',
        '--datagrepper',
        fake.url,
      ]);
      const running = svc;
      const input = await consumingInput(running);
      const series = (name: string, reason?: string) =>
        metric(running, `statscache_amqp_${name}{input="${input}"${reason ? `,reason="${reason}"` : ''}}`);
      const now = Math.floor(Date.now() / 1000);
      const headers = { 'sent-at': sentAt(now) };
      p.publishRaw(topic, '{"i":1}', { messageId: `${queue}-1`, headers });
      p.publishRaw(topic, '{not json', { messageId: `${queue}-bad`, headers });
      p.publishRaw(topic, JSON.stringify({ pad: 'x'.repeat(100_000) }), { messageId: `${queue}-huge`, headers });
      p.publishRaw(topic, '{"i":2}', { messageId: `${queue}-2`, headers });
      await p.confirmed();
      await eventually(
        async () => ((await amqpReady(running))?.deliveries === 4 ? true : undefined),
        15_000,
        'four deliveries',
      );
      // The two refused are settled now, whatever is held before them.
      await eventually(
        async () => ((await amqpReady(running))?.acked === 2 ? true : undefined),
        10_000,
        'the two refused deliveries acked while the valid ones are held',
      );
      expect(await series('decode_errors_total', 'invalid_json')).toBe(1);
      expect(await series('decode_errors_total', 'oversized')).toBe(1);

      // A network blip: what was not acked comes back on the next connection.
      proxy.cut();
      await eventually(async () => ((await series('connects_total')) >= 2 ? true : undefined), 30_000, 'a reconnect');
      await eventually(
        async () => ((await amqpReady(running))?.deliveries === 6 ? true : undefined),
        15_000,
        'the two held deliveries delivered again',
      );
      fake.failNext = 0;
      await eventually(
        async () => ((await metric(running, 'statscache_bus_accepted_total')) === 2 ? true : undefined),
        60_000,
        'the two valid messages taken in once the backfill succeeds',
      );
      const conn = await amqplib.connect(b.url);
      try {
        const ch = await conn.createChannel();
        await eventually(
          async () => {
            const q = await ch.checkQueue(queue);
            const a = await amqpReady(running);
            return q.messageCount === 0 && a?.acked === 4 ? true : undefined;
          },
          20_000,
          'the queue drained and the redelivered two acked',
        );
      } finally {
        await conn.close();
      }
      expect(await series('decode_errors_total', 'invalid_json')).toBe(1);
      expect(await series('decode_errors_total', 'oversized')).toBe(1);
      expect(await metric(running, 'statscache_bus_decode_errors_total{reason="invalid_json"}')).toBe(1);
      expect(await series('deliveries_total')).toBe(6);
    } finally {
      proxy.close();
      await fake.close();
    }
  }, 120_000);

  it('are counted once when their ack is lost and the broker delivers them again', async () => {
    const b = broker as TestBroker;
    const p = pub as TestPublisher;
    const proxy = await tcpProxy(new URL(b.url).port);
    const dir2 = tempDir();
    const queue2 = `${queue}-lost-ack`;
    let again: RunningService | undefined;
    try {
      const topic = `org.fedoraproject.prod.lostack${randomUUID().slice(0, 8)}.thing`;
      again = await startService([
        '--data-dir',
        dir2.path,
        '--snapshot-interval',
        '3600',
        '--amqp',
        b.url.replace(/:\d+\//, `:${proxy.port}/`),
        '--amqp-queue',
        queue2,
        '--amqp-binding',
        topic,
        '--amqp-reconnect-max',
        '1',
      ]);
      const running = again;
      const input = await consumingInput(running);
      const series = (name: string, reason?: string) =>
        metric(running, `statscache_amqp_${name}{input="${input}"${reason ? `,reason="${reason}"` : ''}}`);
      const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
      // The ack of the refused delivery never reaches the broker; the connection then drops.
      proxy.dropUpstream(true);
      p.publishRaw(topic, '{not json', { messageId: `${queue2}-bad`, headers });
      await p.confirmed();
      await eventually(
        async () => ((await series('decode_errors_total', 'invalid_json')) === 1 ? true : undefined),
        15_000,
        'the refused delivery counted',
      );
      proxy.cut();
      proxy.dropUpstream(false);
      await eventually(async () => ((await series('connects_total')) >= 2 ? true : undefined), 30_000, 'a reconnect');
      p.publishRaw(topic, '{"i":1}', { messageId: `${queue2}-1`, headers });
      await p.confirmed();
      const conn = await amqplib.connect(b.url);
      try {
        const ch = await conn.createChannel();
        await eventually(
          async () => {
            const q = await ch.checkQueue(queue2);
            const a = await amqpReady(running);
            return q.messageCount === 0 && q.consumerCount === 1 && a?.deliveries === 3 && a.acked === 3
              ? true
              : undefined;
          },
          20_000,
          // Acked counts acks sent: the lost one too.
          'the refused delivery delivered again, and all three acked',
        );
        await ch.deleteQueue(queue2);
      } finally {
        await conn.close();
      }
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(1);
      expect(await series('decode_errors_total', 'invalid_json')).toBe(1);
      expect(await metric(running, 'statscache_bus_decode_errors_total{reason="invalid_json"}')).toBe(1);
      expect(await series('refused_redeliveries_total')).toBe(1);
    } finally {
      await again?.stop('SIGKILL');
      proxy.close();
      dir2.remove();
    }
  }, 120_000);
});
