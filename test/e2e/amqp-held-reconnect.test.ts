/**
 * Live deliveries wait unacked while the service starts up (replay, backfill). A durable queue
 * delivers them again on every new connection, but the copies that came on a lost connection
 * went on waiting too: each reconnect during a long hold kept one more prefetch window in
 * memory (up to --amqp-prefetch × --max-frame-bytes each), all taken in once the hold ended.
 * Now a waiting delivery is let go when its connection is lost (durable queue only; a
 * server-named queue died with its connection and what it delivered is the only copy).
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts), through test/helpers/amqp-queue-suite.ts. Its durable queue is deleted afterwards.
 */
import { describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpQueueSuite } from '../helpers/amqp-queue-suite.js';
import { amqpReady } from '../helpers/amqp-readiness.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { metricOf } from '../helpers/probes.js';
import { eventually, type RunningService } from '../helpers/service-process.js';

describe('AMQP deliveries held at start-up across reconnects', () => {
  const suite = amqpQueueSuite();

  /** Lets the start-up backfill succeed, which ends the hold: then the whole window is taken in and acked. */
  async function backfillThenAcked(fake: FakeDatagrepper, running: RunningService, queue: string, n: number) {
    fake.failNext = 0;
    await suite.drained(
      queue,
      async () => (await amqpReady(running))?.acked === n,
      60_000,
      'the window taken in and acked once the backfill succeeds',
    );
  }

  it('keep one copy of a durable queue window, not one per connection lost meanwhile', async () => {
    const p = suite.pub;
    const fake = await new FakeDatagrepper().start();
    try {
      fake.failNext = 1_000_000; // the start-up backfill keeps failing: live deliveries stay held
      const { running, proxy, topic, queue, series } = await suite.start('heldtest', ['--datagrepper', fake.url]);
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
      await backfillThenAcked(fake, running, queue, n);
      expect(await metricOf(running.base, 'statscache_bus_accepted_total')).toBe(n);
      // The copies of the lost connections were let go, not taken in as duplicates.
      expect(await series('duplicates_total')).toBe(0);
      expect(await series('connects_total')).toBe(lost + 1);
    } finally {
      await fake.close();
    }
  }, 150_000);

  it('hold a full prefetch window without a listener-leak warning', async () => {
    // Each held delivery listens on its connection's "superseded" signal: a window of the default
    // prefetch (25) passed Node's default of 10 listeners per signal, and every start-up with a
    // backlog waiting printed "MaxListenersExceededWarning: Possible EventTarget memory leak".
    const p = suite.pub;
    const fake = await new FakeDatagrepper().start();
    try {
      fake.failNext = 1_000_000;
      const { running, topic, queue } = await suite.start('heldwindow', ['--datagrepper', fake.url]);
      const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
      const n = 25;
      for (let i = 0; i < n; i++) p.publishRaw(topic, JSON.stringify({ i }), { messageId: `${queue}-${i}`, headers });
      await p.confirmed();
      await eventually(
        async () => ((await amqpReady(running))?.deliveries === n ? true : undefined),
        30_000,
        'the whole window delivered and held',
      );
      await backfillThenAcked(fake, running, queue, n);
      expect(running.logs.filter((l) => l.includes('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      await fake.close();
    }
  }, 150_000);
});
