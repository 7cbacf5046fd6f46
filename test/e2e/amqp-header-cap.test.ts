/**
 * RabbitMQ bounds what an AMQP 0-9-1 publisher sends by frame_max (128 KiB), but a message from
 * another protocol it speaks is converted and delivered whole: a STOMP publisher's 3 MiB header
 * reached the consumer as one content header frame (amqplib reads frames up to 64 MiB whatever
 * frame_max says), and --max-frame-bytes counted only the body and routing key, so it was taken
 * in and journaled. Now a headers table over --max-frame-bytes is left undecoded and the delivery
 * refused as `oversized` (acked, not requeued).
 *
 * Always a private rabbitmq-server with the STOMP plugin (test/helpers/rabbitmq.ts): the other
 * protocol is the point. A header past amqplib's own 64 MiB frame limit is the soak's
 * (test/soak/amqp-frame-limit.soak.ts, `npm run test:soak`): the broker spends ~35 s of CPU
 * converting it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { amqpReady, consumingInput, skippedDeliveries } from '../helpers/amqp-readiness.js';
import { HEADER_CAP, HEADER_TOPIC, metric, stompBroker, stompSession } from '../helpers/stomp-session.js';

describe('AMQP header tables over --max-frame-bytes', () => {
  const dir = tempDir();
  const broker = stompBroker();
  let svc: RunningService | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  }, 60_000);

  it('refuses one a STOMP publisher made 3 MiB as oversized, unread, and takes in one within the bound', async () => {
    const b = broker();
    svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--max-frame-bytes',
      String(HEADER_CAP),
      '--amqp',
      b.url,
      '--amqp-binding',
      HEADER_TOPIC,
    ]);
    const running = svc;
    const input = await consumingInput(running);
    const stomp = await stompSession(b.stompPort as number);
    try {
      const at = sentAt(Date.now() / 1000);
      await stomp.send(HEADER_TOPIC, '{"big":true}', { 'sent-at': at, padding: 'y'.repeat(3 * 1024 * 1024) });
      await stomp.send(HEADER_TOPIC, '{"small":true}', { 'sent-at': at, padding: 'y'.repeat(HEADER_CAP / 2) });
      await eventually(async () => ((await amqpReady(running))?.acked === 2 ? true : undefined), 20_000, 'two acked');
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(1);
      expect(await metric(running, `statscache_amqp_decode_errors_total{input="${input}",reason="oversized"}`)).toBe(1);
      const skipped = skippedDeliveries(running);
      expect(skipped.map((s) => s.reason)).toEqual(['oversized']);
      expect(skipped[0]?.detail).toMatch(
        // Dropped as it arrived (amqp-frame-guard.ts), never gathered whole.
        new RegExp(`^a header frame of 31\\d{5} bytes exceeds the ${HEADER_CAP}-byte limit \\(left unread\\)$`),
      );
      expect((await amqpReady(running))?.state).toBe('consuming');
    } finally {
      stomp.close();
    }
  }, 60_000);
});
