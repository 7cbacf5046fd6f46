/**
 * A `sent-at` written with a lowercase `t` or `z` (RFC 3339 5.6 allows either case, and the HTTP
 * time parameters read them so) was refused as `bad_timestamp`: the header's reader knew only
 * `T` and `Z`. It is now the same instant as the uppercase form; what is not RFC 3339 is still
 * refused. (A `sent-at` that is a non-finite float or double cannot be sent through RabbitMQ,
 * which closes such a publisher's connection: test/amqp/amqp-message.test.ts has it.)
 *
 *
 * A `sent-at` another publisher sent as an AMQP timestamp field (type 'T', epoch seconds) was
 * refused as "not an ISO-8601 time" on every path; it is now read as those seconds, on the AMQP
 * input thread, the main thread and the prepare thread (bodies of 4 KiB or more) alike. The AMQP
 * `timestamp` property stays unread (fedora-messaging consumers date a message without
 * `sent-at` by its arrival).
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts), through test/helpers/amqp-queue-suite.ts. Its durable queue is deleted afterwards.
 */
import { describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpQueueSuite } from '../helpers/amqp-queue-suite.js';
import { amqpReady } from '../helpers/amqp-readiness.js';
import { metricOf } from '../helpers/probes.js';
import { getJson } from '../helpers/service-process.js';

describe('AMQP sent-at headers', () => {
  const suite = amqpQueueSuite();

  it('reads a lowercase t and z as T and Z, and still refuses what is not RFC 3339', async () => {
    const p = suite.pub;
    const { running, topic, queue, series } = await suite.start('sentatcase');
    const now = Math.floor(Date.now() / 1000);
    // One second apart, so each message's timestamp says which header it came from.
    const sent: [string, number][] = [
      [sentAt(now - 4), now - 4],
      [sentAt(now - 3).replace('T', 't'), now - 3],
      [sentAt(now - 2).replace('+00:00', 'z'), now - 2],
      [
        sentAt(now - 1)
          .replace('T', 't')
          .replace('+00:00', 'z'),
        now - 1,
      ],
    ];
    const refused = [sentAt(now).replace('+00:00', '+00'), sentAt(now).replace('T', 'x')];
    let n = 0;
    for (const value of [...sent.map(([v]) => v), ...refused])
      p.publishRaw(topic, JSON.stringify({ n }), { messageId: `${queue}-${n++}`, headers: { 'sent-at': value } });
    await p.confirmed();
    await suite.drained(queue, async () => (await amqpReady(running))?.acked === n, 30_000, 'all six acked');
    expect(await series('decode_errors_total', 'bad_timestamp')).toBe(refused.length);
    expect(await metricOf(running.base, 'statscache_bus_accepted_total')).toBe(sent.length);
    const page = (await getJson(`${running.base}/raw?start=${now - 60}&end=${now + 60}&order=asc`)).body as {
      raw_messages: { msg_id: string; timestamp: number }[];
    };
    expect(page.raw_messages.map((m) => [m.msg_id, m.timestamp])).toEqual(
      sent.map(([, at], i) => [`${queue}-${i}`, at]),
    );
  }, 90_000);

  it('reads a sent-at sent as an AMQP timestamp on every path, and leaves the timestamp property unread', async () => {
    const p = suite.pub;
    // The input thread (the default), then the main thread with the prepare thread beside it.
    for (const [name, flags] of [
      ['sentatthread', []],
      ['sentatmain', ['--amqp-input-thread', 'false']],
    ] as const) {
      const { running, topic, queue, series } = await suite.start(name, flags);
      const now = Math.floor(Date.now() / 1000);
      const stamp = (seconds: number) => ({ 'sent-at': { '!': 'timestamp', value: seconds } });
      const large = JSON.stringify({ pad: 'x'.repeat(5000) });
      p.publishRaw(topic, '{"n":0}', { messageId: `${queue}-0`, headers: stamp(now - 3) });
      p.publishRaw(topic, large, { messageId: `${queue}-1`, headers: stamp(now - 2) });
      // Epoch milliseconds in a seconds field: past the year 5138, refused as ahead of any clock.
      p.publishRaw(topic, '{"n":2}', { messageId: `${queue}-2`, headers: stamp(now * 1000) });
      // No sent-at: dated by its arrival, not by the property an hour back.
      p.publishRaw(topic, '{"n":3}', { messageId: `${queue}-3`, headers: {}, timestamp: now - 3600 });
      await p.confirmed();
      await suite.drained(queue, async () => (await amqpReady(running))?.acked === 4, 30_000, 'all four acked');
      expect(await series('decode_errors_total', 'bad_timestamp'), flags.join(' ')).toBe(0);
      expect(await series('decode_errors_total', 'future_timestamp'), flags.join(' ')).toBe(1);
      const page = (await getJson(`${running.base}/raw?start=${now - 7200}&end=${now + 60}&order=asc`)).body as {
        raw_messages: { msg_id: string; timestamp: number }[];
      };
      const rows = page.raw_messages.map((m) => [m.msg_id, m.timestamp] as const);
      expect(rows.slice(0, 2), flags.join(' ')).toEqual([
        [`${queue}-0`, now - 3],
        [`${queue}-1`, now - 2],
      ]);
      expect(rows.length).toBe(3);
      expect(rows[2]?.[0]).toBe(`${queue}-3`);
      expect(rows[2]?.[1]).toBeGreaterThanOrEqual(now);
    }
  }, 120_000);
});
