/**
 * A delivery the journal cannot store is acked (a redelivery would fail the same way), and so
 * lost to this instance. It was said only by a rate-limited log line: no metric, and /healthz
 * and /readyz answered as if nothing was lost. Now it is counted
 * (statscache_amqp_unjournaled_total, /readyz's `unjournaled`) and both say so in `degraded`.
 *
 * Nothing a real bus sends makes the journal refuse a record on demand (the failure is an LMDB
 * read error in the id lookup), so the service runs with the journal's test hook
 * STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC (snapshots/journal.ts) refusing one topic's records.
 *
 * Against a real RabbitMQ: STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server
 * (test/helpers/rabbitmq.ts), through test/helpers/amqp-queue-suite.ts. Its durable queue is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpQueueSuite } from '../helpers/amqp-queue-suite.js';
import { amqpReady } from '../helpers/amqp-readiness.js';
import { loggedLine, metricOf } from '../helpers/probes.js';
import { getJson } from '../helpers/service-process.js';

describe('AMQP deliveries the journal cannot store', () => {
  const suite = amqpQueueSuite();

  it('are acked, counted per input, and make /healthz and /readyz degraded', async () => {
    const p = suite.pub;
    const refused = `org.fedoraproject.prod.unjournaled${randomUUID().slice(0, 8)}.thing`;
    const { running, topic, queue, series } = await suite.start('unjournaled', ['--amqp-binding', refused], {
      STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC: refused,
    });
    const headers = { 'sent-at': sentAt(Math.floor(Date.now() / 1000)) };
    let n = 0;
    const publish = (t: string) => p.publishRaw(t, JSON.stringify({ n }), { messageId: `${queue}-${n++}`, headers });
    for (let i = 0; i < 3; i++) publish(topic);
    for (let i = 0; i < 2; i++) publish(refused);
    for (let i = 0; i < 3; i++) publish(topic);
    await p.confirmed();
    // Every delivery is acked, the two refused ones too: none comes back to fail again.
    await suite.drained(
      queue,
      async () => (await amqpReady(running))?.acked === n,
      30_000,
      'every delivery acked and the queue empty',
    );
    expect(await metricOf(running.base, 'statscache_bus_accepted_total')).toBe(6);
    expect(await series('unjournaled_total')).toBe(2);
    expect((await amqpReady(running)) as unknown as { unjournaled: number }).toMatchObject({ unjournaled: 2 });
    const health = await getJson(`${running.base}/healthz`);
    expect(health.status).toBe(200);
    expect((health.body as { degraded?: string }).degraded).toMatch(
      /2 AMQP deliveries acked without being journaled this run \(the journal could not store them: lost to this instance\), the last at .* the journal refused the record/,
    );
    const ready = await getJson(`${running.base}/readyz`);
    expect(ready.status).toBe(200);
    expect((ready.body as { degraded?: string }).degraded).toMatch(/2 AMQP deliveries acked without being journaled/);
    // Logged before the ack, but stdout may bring the line after the HTTP answers above (loggedLine).
    await loggedLine(running, (l) => l.includes('AMQP delivery could not be journaled'), 'the refused record');
  }, 90_000);
});
