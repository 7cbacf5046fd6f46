/**
 * A `sent-at` header sent as an AMQP 0-9-1 timestamp (field type 'T', 64-bit POSIX seconds), as a
 * publisher other than fedora-messaging may write it, was refused as "not an ISO-8601 time":
 * amqplib reads it as `{ '!': 'timestamp', value: seconds }`, which only ISO text and numbers were
 * read from. It is now the epoch seconds it is, under the bounds of any other time. The tables
 * here are encoded and decoded by amqplib's own codec, as a delivery's headers are.
 * (Through a real broker: test/e2e/amqp-sent-at.test.ts.)
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageId } from '../../snapshots/journal-record.js';
import { type AmqpMessage, toDelivery } from '../../src/amqp-delivery.js';
import { decodeDelivery, type Delivery } from '../../src/amqp-message.js';
import { fromWireDelivery, prepareDelivery, toWireDelivery } from '../../src/amqp-prepare.js';
import { threadLimits } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decodeHead } from '../../src/prepared-head.js';

const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, table: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};

/** A headers table as it arrives: encoded and decoded by amqplib. */
function arrived(table: Record<string, unknown>): Record<string, unknown> {
  const buffer = Buffer.alloc(4096);
  const n = codec.encodeTable(buffer, table, 0);
  return codec.decodeFields(buffer.subarray(4, n));
}

const NOW = 1_734_282_596; // 2024-12-15T17:09:56Z
const limits = { maxFrameBytes: 10_000, maxDepth: 16, maxKeys: 1000, maxClockSkew: 300, nowSeconds: () => NOW };
const delivery = (headers: unknown): Delivery => ({
  routingKey: 'org.fedoraproject.prod.copr.build.end',
  content: Buffer.from('{"build":1}'),
  messageId: '1cf56046-167e-45b3-9f5c-4830720d6797',
  headers,
  redelivered: false,
});
const stamped = (seconds: number) => arrived({ 'sent-at': { '!': 'timestamp', value: seconds }, priority: 0 });

describe('a sent-at typed as an AMQP timestamp', () => {
  it('is read as the epoch seconds it holds, the headers kept as amqplib read them', () => {
    const headers = stamped(NOW - 60);
    expect(headers['sent-at']).toEqual({ '!': 'timestamp', value: NOW - 60 });
    const r = decodeDelivery(delivery(headers), limits);
    expect(r).toMatchObject({ ok: true, filledTimestamp: false, correctedTimestamp: null });
    expect(r.ok && r.envelope).toMatchObject({ timestamp: NOW - 60, headers });
    // The same instant as the ISO text fedora-messaging writes: the same message id.
    const iso = decodeDelivery(delivery(arrived({ 'sent-at': '2024-12-15T17:08:56+00:00', priority: 0 })), limits);
    expect(r.ok && iso.ok && r.envelope.timestamp === iso.envelope.timestamp).toBe(true);
  });

  it('is held to the clock and, being seconds by its type, to the year-5138 rule as ISO text is', () => {
    expect(decodeDelivery(delivery(stamped(NOW + 300)), limits)).toMatchObject({ ok: true });
    expect(decodeDelivery(delivery(stamped(NOW + 301)), limits)).toMatchObject({
      ok: false,
      reason: 'future_timestamp',
    });
    // Epoch milliseconds written into a seconds field: not guessed back to seconds.
    for (const value of [NOW * 1000, 1e11, 2 ** 63])
      expect(decodeDelivery(delivery(stamped(value)), limits), String(value)).toEqual({
        ok: false,
        reason: 'future_timestamp',
        detail: `sent-at timestamp ${value} is past the year 5138, ahead of any clock`,
      });
  });

  it('refuses a table that only looks like one (another client may send a field table of that shape)', () => {
    // amqplib's encoder reads '!' as a type, so these are built as its decoder would return them.
    for (const forged of [
      { '!': 'timestamp', value: -1 },
      { '!': 'timestamp', value: 1.5 },
      { '!': 'timestamp', value: '1734282596' },
      { '!': 'timestamp', value: NOW, extra: 1 },
      { '!': 'decimal', value: { places: 0, digits: NOW } },
    ])
      expect(decodeDelivery(delivery({ 'sent-at': forged }), limits), JSON.stringify(forged)).toMatchObject({
        ok: false,
        reason: 'bad_timestamp',
      });
  });

  it('is prepared off the main thread (AMQP input and prepare threads) as the main thread decodes it', () => {
    const config = loadConfig({ env: {}, flags: { dataDir: '/nonexistent' } });
    const d = delivery(stamped(NOW - 60));
    const crossed = fromWireDelivery(structuredClone(toWireDelivery(d, new Uint8Array(d.content))));
    // No clock on the thread (null): a delivery taken for one without sent-at would come back as `clock`.
    const p = prepareDelivery(crossed, threadLimits(config), null);
    expect(p.kind).toBe('ready');
    const main = decodeDelivery(d, limits);
    if (p.kind !== 'ready' || !main.ok) throw new Error('not prepared');
    expect(decodeHead(p.head).id).toBe(messageId(main.envelope));
  });

  it('leaves the AMQP timestamp property unread: without sent-at the arrival time, as fedora-messaging consumers date it', () => {
    const msg: AmqpMessage = {
      fields: { routingKey: 'org.fedoraproject.prod.copr.build.end', redelivered: false },
      content: Buffer.from('{"build":1}'),
      properties: { messageId: '1cf56046-167e-45b3-9f5c-4830720d6797', headers: {}, timestamp: NOW - 3600 } as never,
    };
    expect(decodeDelivery(toDelivery(msg), limits)).toMatchObject({
      ok: true,
      filledTimestamp: true,
      envelope: { timestamp: NOW },
    });
  });
});
