/**
 * A delivery that cannot be decoded is refused and acked, never requeued, and counted once by
 * reason. It was acked in delivery order behind the deliveries before it, though, and (unless
 * oversized) decoded only once the start-up hold let it through: a connection lost meanwhile
 * left it unacked, the durable queue delivered it again, and both copies were counted, as after
 * each failed journal commit (which drops the connection on purpose): the decode-error metrics
 * said more than arrived.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts), through test/helpers/amqp-queue-suite.ts. Its durable queues are deleted afterwards.
 */
import { describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpQueueSuite } from '../helpers/amqp-queue-suite.js';
import { amqpReady } from '../helpers/amqp-readiness.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { metricOf } from '../helpers/probes.js';
import { eventually } from '../helpers/service-process.js';

describe('AMQP deliveries refused as undecodable', () => {
  const suite = amqpQueueSuite();

  it('are acked at once and counted once when the connection drops while the deliveries before them are held', async () => {
    const p = suite.pub;
    const fake = await new FakeDatagrepper().start();
    try {
      // The start-up backfill keeps failing: valid deliveries are held unacked meanwhile.
      fake.failNext = 1_000_000;
      const { running, proxy, topic, queue, series } = await suite.start('refusetest', [
        '--max-frame-bytes',
        '65536',
        '--datagrepper',
        fake.url,
      ]);
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
        async () => ((await metricOf(running.base, 'statscache_bus_accepted_total')) === 2 ? true : undefined),
        60_000,
        'the two valid messages taken in once the backfill succeeds',
      );
      await suite.drained(
        queue,
        async () => (await amqpReady(running))?.acked === 4,
        20_000,
        'the queue drained and the redelivered two acked',
      );
      expect(await series('decode_errors_total', 'invalid_json')).toBe(1);
      expect(await series('decode_errors_total', 'oversized')).toBe(1);
      expect(await metricOf(running.base, 'statscache_bus_decode_errors_total', 'reason="invalid_json"')).toBe(1);
      expect(await series('deliveries_total')).toBe(6);
    } finally {
      await fake.close();
    }
  }, 120_000);

  it('are counted once when their ack is lost and the broker delivers them again', async () => {
    const p = suite.pub;
    const { running, proxy, topic, queue, series } = await suite.start('lostack');
    const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
    // The ack of the refused delivery never reaches the broker; the connection then drops.
    proxy.dropUpstream(true);
    p.publishRaw(topic, '{not json', { messageId: `${queue}-bad`, headers });
    await p.confirmed();
    await eventually(
      async () => ((await series('decode_errors_total', 'invalid_json')) === 1 ? true : undefined),
      15_000,
      'the refused delivery counted',
    );
    proxy.cut();
    proxy.dropUpstream(false);
    await eventually(async () => ((await series('connects_total')) >= 2 ? true : undefined), 30_000, 'a reconnect');
    p.publishRaw(topic, '{"i":1}', { messageId: `${queue}-1`, headers });
    await p.confirmed();
    await suite.drained(
      queue,
      async (q) => {
        const a = await amqpReady(running);
        return q.consumerCount === 1 && a?.deliveries === 3 && a.acked === 3;
      },
      20_000,
      // Acked counts acks sent: the lost one too.
      'the refused delivery delivered again, and all three acked',
    );
    expect(await metricOf(running.base, 'statscache_bus_accepted_total')).toBe(1);
    expect(await series('decode_errors_total', 'invalid_json')).toBe(1);
    expect(await metricOf(running.base, 'statscache_bus_decode_errors_total', 'reason="invalid_json"')).toBe(1);
    expect(await series('refused_redeliveries_total')).toBe(1);
  }, 120_000);
});
