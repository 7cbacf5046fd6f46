/**
 * A STOMP 1.2 publisher on a test broker (test/helpers/rabbitmq.ts, `stomp: true`): RabbitMQ
 * converts another protocol's messages and delivers them whole, past what an AMQP 0-9-1
 * publisher's frame_max allows (amqp-header-cap tests and the soak's frame-limit test).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type TestBroker } from './rabbitmq.js';
import { getJson, type RunningService } from './service-process.js';

/** The --max-frame-bytes both header tests run with, and the routing key they publish on. */
export const HEADER_CAP = 65_536;
export const HEADER_TOPIC = 'org.fedoraproject.prod.headercap.thing';

/**
 * A private broker with the STOMP plugin for the enclosing describe: started before its tests,
 * stopped after them (after the describe's own afterAll, which vitest runs first: hooks stack).
 */
export function stompBroker(): () => TestBroker {
  let broker: TestBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker({ stomp: true });
  }, 150_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);
  return () => broker as TestBroker;
}

/** One unlabelled or labelled series from /metrics, 0 when absent. */
export async function metric(svc: RunningService, series: string): Promise<number> {
  const text = String((await getJson(`${svc.base}/metrics`)).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A STOMP 1.2 session on the broker: SEND to `/topic/<routing key>` (amq.topic), each confirmed by a RECEIPT. */
export async function stompSession(port: number): Promise<{
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
