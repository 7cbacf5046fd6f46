/**
 * RabbitMQ bounds what an AMQP 0-9-1 publisher sends by frame_max (128 KiB), but a message from
 * another protocol it speaks is converted and delivered whole: a STOMP publisher's 3 MiB header
 * reached the consumer as one content header frame (amqplib reads frames up to 64 MiB whatever
 * frame_max says), and --max-frame-bytes counted only the body and routing key, so it was taken
 * in and journaled. Now a headers table over --max-frame-bytes is left undecoded and the delivery
 * refused as `oversized` (acked, not requeued).
 *
 * Always a private rabbitmq-server with the STOMP plugin (test/helpers/rabbitmq.ts): the other
 * protocol is the point.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentAt } from '../helpers/amqp-publisher.js';
import { startBroker, type TestBroker } from '../helpers/rabbitmq.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { amqpReady, consumingInput, skippedDeliveries } from '../helpers/amqp-readiness.js';

const CAP = 65_536;
const TOPIC = 'org.fedoraproject.prod.headercap.thing';

async function metric(svc: RunningService, series: string): Promise<number> {
  const text = String((await getJson(`${svc.base}/metrics`)).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A STOMP 1.2 session on the broker: SEND to `/topic/<routing key>` (amq.topic), each confirmed by a RECEIPT. */
async function stompSession(port: number): Promise<{
  send(topic: string, body: string, headers: Record<string, string>): Promise<void>;
  close(): void;
}> {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  socket.on('data', (d: Buffer) => {
    received += d.toString();
    for (const w of waiters.splice(0)) {
      if (received.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  const frame = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (received.includes(text)) return resolve();
      waiters.push({ text, resolve });
      socket.once('error', reject);
    });
  await new Promise((r) => socket.once('connect', r));
  socket.write('CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0');
  await frame('CONNECTED');
  let receipt = 0;
  return {
    send: async (topic, body, headers) => {
      const id = `r${++receipt}`;
      const lines = Object.entries(headers).map(([k, v]) => `${k}:${v}`);
      socket.write(`SEND\ndestination:/topic/${topic}\nreceipt:${id}\n${lines.join('\n')}\n\n${body}\0`);
      await frame(`receipt-id:${id}`);
    },
    close: () => socket.destroy(),
  };
}

describe('AMQP header tables over --max-frame-bytes', () => {
  const dir = tempDir();
  const dir2 = tempDir();
  let broker: TestBroker | undefined;
  let svc: RunningService | undefined;
  let svc2: RunningService | undefined;
  beforeAll(async () => {
    broker = await startBroker({ stomp: true });
  }, 150_000);
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    await svc2?.stop('SIGKILL');
    await broker?.stop();
    dir.remove();
    dir2.remove();
  }, 60_000);

  it('refuses one a STOMP publisher made 3 MiB as oversized, unread, and takes in one within the bound', async () => {
    const b = broker as TestBroker;
    svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--max-frame-bytes',
      String(CAP),
      '--amqp',
      b.url,
      '--amqp-binding',
      TOPIC,
    ]);
    const running = svc;
    const input = await consumingInput(running);
    const stomp = await stompSession(b.stompPort as number);
    try {
      const at = sentAt(Date.now() / 1000);
      await stomp.send(TOPIC, '{"big":true}', { 'sent-at': at, padding: 'y'.repeat(3 * 1024 * 1024) });
      await stomp.send(TOPIC, '{"small":true}', { 'sent-at': at, padding: 'y'.repeat(CAP / 2) });
      await eventually(async () => ((await amqpReady(running))?.acked === 2 ? true : undefined), 20_000, 'two acked');
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(1);
      expect(await metric(running, `statscache_amqp_decode_errors_total{input="${input}",reason="oversized"}`)).toBe(1);
      const skipped = skippedDeliveries(running);
      expect(skipped.map((s) => s.reason)).toEqual(['oversized']);
      expect(skipped[0]?.detail).toMatch(
        // Dropped as it arrived (amqp-frame-guard.ts), never gathered whole.
        new RegExp(`^a header frame of 31\\d{5} bytes exceeds the ${CAP}-byte limit \\(left unread\\)$`),
      );
      expect((await amqpReady(running))?.state).toBe('consuming');
    } finally {
      stomp.close();
    }
  }, 60_000);

  it("refuses one over amqplib's 64 MiB frame limit as oversized, once, and goes on consuming its durable queue", async () => {
    // amqplib threw on a frame over 64 MiB as soon as it read the frame's size: the connection
    // closed, the broker put the delivery back at the head of the durable queue, and every
    // reconnect met it again (nothing behind it taken in, health flapping). A server-named
    // queue died with the connection, and everything in it.
    const b = broker as TestBroker;
    const queue = `statscache-test-headercap-${process.pid}`;
    svc2 = await startService([
      '--data-dir',
      dir2.path,
      '--snapshot-interval',
      '3600',
      '--max-frame-bytes',
      String(CAP),
      '--amqp',
      b.url,
      '--amqp-queue',
      queue,
      '--amqp-binding',
      TOPIC,
      '--amqp-reconnect-max',
      '1',
    ]);
    const running = svc2;
    const input = await consumingInput(running);
    const stomp = await stompSession(b.stompPort as number);
    try {
      const at = sentAt(Date.now() / 1000);
      await stomp.send(TOPIC, '{"huge":true}', { 'sent-at': at, padding: 'z'.repeat(65 * 1024 * 1024) });
      await stomp.send(TOPIC, '{"after":true}', { 'sent-at': at });
      await eventually(async () => ((await amqpReady(running))?.acked === 2 ? true : undefined), 60_000, 'two acked');
      expect(await metric(running, 'statscache_bus_accepted_total')).toBe(1);
      expect(await metric(running, `statscache_amqp_decode_errors_total{input="${input}",reason="oversized"}`)).toBe(1);
      expect(await metric(running, `statscache_amqp_deliveries_total{input="${input}"}`)).toBe(2);
      expect(await metric(running, `statscache_amqp_connects_total{input="${input}"}`)).toBe(1);
      expect((await amqpReady(running))?.state).toBe('consuming');
      const skipped = skippedDeliveries(running);
      expect(skipped.map((s) => s.reason)).toEqual(['oversized']);
      expect(skipped[0]?.detail).toMatch(
        new RegExp(`^a header frame of 68\\d{6} bytes exceeds the ${CAP}-byte limit \\(left unread\\)$`),
      );
    } finally {
      stomp.close();
      await b.ctl('delete_queue', queue).catch(() => undefined);
    }
    // The broker's STOMP reader takes ~0.5 s of CPU per MiB of header on a loaded box.
  }, 300_000);
});
