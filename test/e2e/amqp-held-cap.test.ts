/**
 * A server-named queue (exclusive, auto-delete) dies with its connection, so what it delivered
 * while start-up holds live messages is the only copy and stays held. Each reconnect during a
 * long hold added one more prefetch window in memory, without bound. Now the held deliveries of
 * all connections are capped (--amqp-max-held, 4 windows by default): a connection that would
 * pass it binds its queue and defers consuming until the hold ends, so the broker holds what
 * arrives meanwhile, and nothing is lost.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts), through test/helpers/amqp-queue-suite.ts.
 */
import { describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpQueueSuite } from '../helpers/amqp-queue-suite.js';
import { amqpReady } from '../helpers/amqp-readiness.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { metricOf } from '../helpers/probes.js';
import { eventually } from '../helpers/service-process.js';

describe('AMQP deliveries of a server-named queue held at start-up across reconnects', () => {
  const suite = amqpQueueSuite();

  it('stay within the cap: a connection past it binds and defers consuming, and every message arrives once the hold ends', async () => {
    const p = suite.pub;
    const fake = await new FakeDatagrepper().start();
    try {
      fake.failNext = 1_000_000; // the start-up backfill keeps failing: live deliveries stay held
      const prefetch = 5;
      const cap = 4 * prefetch; // the default: 4 windows
      const { running, proxy, topic, series } = await suite.startServerNamed('heldcap', [
        '--datagrepper',
        fake.url,
        '--ready-timeout',
        '3600',
        '--amqp-prefetch',
        String(prefetch),
      ]);
      const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
      let sent = 0;
      const publish = async (n: number) => {
        for (let i = 0; i < n; i++, sent++)
          p.publishRaw(topic, JSON.stringify({ i: sent }), { messageId: `heldcap-${topic}-${sent}`, headers });
        await p.confirmed();
      };
      const held = async () => {
        const a = await amqpReady(running);
        return a === undefined ? Number.NaN : a.deliveries - a.acked;
      };
      // Four connections, each delivered a full window it keeps (its queue dies with it), then cut.
      for (let c = 1; c <= cap / prefetch; c++) {
        await eventually(
          async () =>
            ((await amqpReady(running))?.state === 'consuming' && (await series('connects_total')) === c) || undefined,
          30_000,
          `connection ${c} consuming`,
        );
        await publish(prefetch);
        await eventually(
          async () => ((await amqpReady(running))?.deliveries === c * prefetch ? true : undefined),
          30_000,
          `the window delivered on connection ${c}`,
        );
        proxy.cut();
      }
      // The cap is reached: the next connection binds its queue but does not consume.
      const deferred = async (n: number) =>
        eventually(
          async () => {
            const a = await amqpReady(running);
            if (a?.state === 'consuming' && (await series('connects_total')) > cap / prefetch) return a;
            return /consume deferred/.test(a?.reason ?? '') && (await series('consume_deferrals_total')) === n
              ? a
              : undefined;
          },
          30_000,
          `connection ${cap / prefetch + n} bound, deferred or consuming`,
        );
      let a = await deferred(1);
      expect(a.state).toBe('connecting');
      expect(a.reason).toMatch(/consume deferred: 20 deliveries of earlier connections held \(cap 20\)/);
      expect(await held()).toBe(cap);
      // A cut while deferred: the next one defers too, and holds no more.
      proxy.cut();
      a = await deferred(2);
      expect(a.reason).toMatch(/consume deferred/);
      const r = (await amqpReady(running)) as unknown as { held: number; max_held: number; consume_deferrals: number };
      expect(r).toMatchObject({ held: cap, max_held: cap, consume_deferrals: 2 });
      expect(await series('held_deliveries')).toBe(cap);
      // Published while deferred: the broker holds these in the bound queue.
      await publish(2 * prefetch);
      expect(await held()).toBe(cap);
      expect((await amqpReady(running))?.deliveries).toBe(cap);
      // The hold ends. The held ones are taken in (their channels are gone: nothing to ack them on),
      // and the deferred connection consumes what the broker held for it, and acks that.
      fake.failNext = 0;
      await eventually(
        async () =>
          (await metricOf(running.base, 'statscache_bus_accepted_total')) === sent &&
          (await amqpReady(running))?.acked === 2 * prefetch
            ? true
            : undefined,
        60_000,
        'every message taken in once the hold ends',
      );
      expect(sent).toBe(cap + 2 * prefetch);
      expect(await series('duplicates_total')).toBe(0);
      expect(await series('held_deliveries')).toBe(0);
      expect((await amqpReady(running))?.state).toBe('consuming');
    } finally {
      await fake.close();
    }
  }, 150_000);
});
