/**
 * A `sent-at` written with a lowercase `t` or `z` (RFC 3339 5.6 allows either case, and the HTTP
 * time parameters read them so) was refused as `bad_timestamp`: the header's reader knew only
 * `T` and `Z`. It is now the same instant as the uppercase form; what is not RFC 3339 is still
 * refused. (A `sent-at` that is a non-finite float or double cannot be sent through RabbitMQ,
 * which closes such a publisher's connection: test/amqp/amqp-message.test.ts has it.)
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
});
