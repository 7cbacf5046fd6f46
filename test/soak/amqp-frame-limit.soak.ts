/**
 * amqplib threw on a frame over its 64 MiB limit as soon as it read the frame's size: the
 * connection closed, the broker put the delivery back at the head of the durable queue, and
 * every reconnect met it again. Now such a header is left unread and the delivery refused as
 * `oversized` (amqp-frame-guard.ts). A STOMP publisher is the way to make one (RabbitMQ
 * converts its message whole); the broker's STOMP reader takes ~0.5 s of CPU per MiB, so this
 * runs in `npm run test:soak`, not `npm test` (test/e2e/amqp-header-cap.test.ts has the 3 MiB
 * case; test/amqp/amqp-frame-guard.test.ts the guard on its own).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { amqpReady, consumingInput, skippedDeliveries } from '../helpers/amqp-readiness.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { HEADER_CAP, HEADER_TOPIC, metric, stompBroker, stompSession } from '../helpers/stomp-session.js';

describe("AMQP header frames over amqplib's 64 MiB limit", () => {
  const dir2 = tempDir();
  const broker = stompBroker();
  let svc2: RunningService | undefined;
  afterAll(async () => {
    await svc2?.stop('SIGKILL');
    dir2.remove();
  }, 60_000);

  it("refuses one over amqplib's 64 MiB frame limit as oversized, once, and goes on consuming its durable queue", async () => {
    // amqplib threw on a frame over 64 MiB as soon as it read the frame's size: the connection
    // closed, the broker put the delivery back at the head of the durable queue, and every
    // reconnect met it again (nothing behind it taken in, health flapping). A server-named
    // queue died with the connection, and everything in it.
    const b = broker();
    const queue = `statscache-test-headercap-${process.pid}`;
    svc2 = await startService([
      '--data-dir',
      dir2.path,
      '--snapshot-interval',
      '3600',
      '--max-frame-bytes',
      String(HEADER_CAP),
      '--amqp',
      b.url,
      '--amqp-queue',
      queue,
      '--amqp-binding',
      HEADER_TOPIC,
      '--amqp-reconnect-max',
      '1',
    ]);
    const running = svc2;
    const input = await consumingInput(running);
    const stomp = await stompSession(b.stompPort as number);
    try {
      const at = sentAt(Date.now() / 1000);
      await stomp.send(HEADER_TOPIC, '{"huge":true}', { 'sent-at': at, padding: 'z'.repeat(65 * 1024 * 1024) });
      await stomp.send(HEADER_TOPIC, '{"after":true}', { 'sent-at': at });
      await eventually(async () => ((await amqpReady(running))?.acked === 2 ? true : undefined), 60_000, 'two acked');
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(1);
      expect(await metric(running, `statscache_amqp_decode_errors_total{input="${input}",reason="oversized"}`)).toBe(1);
      expect(await metric(running, `statscache_amqp_deliveries_total{input="${input}"}`)).toBe(2);
      expect(await metric(running, `statscache_amqp_connects_total{input="${input}"}`)).toBe(1);
      expect((await amqpReady(running))?.state).toBe('consuming');
      const skipped = skippedDeliveries(running);
      expect(skipped.map((s) => s.reason)).toEqual(['oversized']);
      expect(skipped[0]?.detail).toMatch(
        new RegExp(`^a header frame of 68\\d{6} bytes exceeds the ${HEADER_CAP}-byte limit \\(left unread\\)$`),
      );
    } finally {
      stomp.close();
      await b.ctl('delete_queue', queue).catch(() => undefined);
    }
    // The broker's STOMP reader takes ~0.5 s of CPU per MiB of header on a loaded box.
  }, 300_000);
});
