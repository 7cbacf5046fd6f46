/**
 * A fedora-messaging-shaped publisher for tests (the outside world): routing key = topic,
 * body = the fedmsg `msg`, `message_id`, `sent-at` from the timestamp, user/rpm header keys.
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { deriveMeta } from '../../src/meta/index.js';
import type { Envelope } from '../../src/envelope.js';
import type { RawEnvelope } from './fixtures.js';

export interface WireMessage {
  readonly topic: string;
  readonly body: Buffer;
  readonly messageId: string;
  readonly headers: Record<string, unknown>;
}

/** `2024-12-15T17:09:56+00:00`, as fedora-messaging writes `sent-at`. */
export function sentAt(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * The wire form of one fixture. Usernames and packages become header keys the way a
 * fedora-messaging schema's `usernames`/`packages` properties do.
 */
export function toWire(e: RawEnvelope): WireMessage {
  const meta = deriveMeta(e as unknown as Envelope);
  const headers: Record<string, unknown> = {
    'sent-at': sentAt(e.timestamp as number),
    fedora_messaging_schema: 'base.message',
    fedora_messaging_severity: 20,
    priority: 0,
  };
  for (const u of meta.usernames) headers[`fedora_messaging_user_${u}`] = true;
  for (const p of meta.packages) headers[`fedora_messaging_rpm_${p}`] = true;
  return {
    topic: e.topic,
    body: Buffer.from(JSON.stringify(e.msg)),
    messageId: typeof e['msg_id'] === 'string' ? e['msg_id'] : randomUUID(),
    headers,
  };
}

export interface TestPublisher {
  publish(m: WireMessage): void;
  publishRaw(
    topic: string,
    body: Buffer | string,
    /** `timestamp`: the AMQP `timestamp` property (epoch seconds), which fedora-messaging never sets. */
    options?: { messageId?: string; headers?: Record<string, unknown>; timestamp?: number },
  ): void;
  /** Resolves once the broker confirmed everything published so far. */
  confirmed(): Promise<void>;
  close(): Promise<void>;
}

export async function connectAmqpPublisher(url: string): Promise<TestPublisher> {
  const conn = await amqplib.connect(url);
  const ch = await conn.createConfirmChannel();
  const publishRaw: TestPublisher['publishRaw'] = (topic, body, options = {}) => {
    ch.publish('amq.topic', topic, Buffer.isBuffer(body) ? body : Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      ...(options.messageId ? { messageId: options.messageId } : {}),
      ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
      headers: options.headers ?? {},
    });
  };
  return {
    publish: (m) => publishRaw(m.topic, m.body, { messageId: m.messageId, headers: m.headers }),
    publishRaw,
    confirmed: () => ch.waitForConfirms(),
    close: async () => {
      await ch.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
    },
  };
}
