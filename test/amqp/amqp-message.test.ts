import { describe, expect, it } from 'vitest';
import { AmqpInput, backoffDelay, redactUrl, type AmqpStatus } from '../../src/amqp-bus.js';
import { decodeDelivery, jsonSafe, type Delivery } from '../../src/amqp-message.js';
import { parseSentAt } from '../../src/amqp-sent-at.js';
import { loadConfig } from '../../src/config.js';
import { deriveMeta } from '../../src/meta/index.js';
import type { Envelope } from '../../src/envelope.js';
import { messageId } from '../../snapshots/journal-record.js';
import { recordedReconnects } from '../helpers/recorded-reconnects.js';

const NOW = 1_734_282_596; // 2024-12-15T17:09:56Z
const limits = { maxFrameBytes: 10_000, maxDepth: 16, maxKeys: 1000, maxClockSkew: 300, nowSeconds: () => NOW };
const delivery = (
  body: unknown,
  headers: unknown = { 'sent-at': '2024-12-15T17:09:56+00:00' },
  extra: Partial<Delivery> = {},
): Delivery => ({
  routingKey: 'org.fedoraproject.prod.copr.build.end',
  content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  messageId: '1cf56046-167e-45b3-9f5c-4830720d6797',
  headers,
  redelivered: false,
  ...extra,
});

describe('fedora-messaging deliveries as fedmsg envelopes', () => {
  it('maps routing key, body, message_id, sent-at and headers (the real example from datagrepper)', () => {
    const headers = {
      fedora_messaging_schema: 'copr.build.end',
      fedora_messaging_severity: 20,
      fedora_messaging_user_ksurma: true,
      priority: 0,
      'sent-at': '2024-12-15T17:09:56+00:00',
    };
    const r = decodeDelivery(delivery({ build: 1, owner: 'ksurma' }, headers), limits);
    expect(r).toMatchObject({ ok: true, filledTimestamp: false });
    if (!r.ok) return;
    expect(r.envelope).toEqual({
      topic: 'org.fedoraproject.prod.copr.build.end',
      msg: { build: 1, owner: 'ksurma' },
      msg_id: '1cf56046-167e-45b3-9f5c-4830720d6797',
      timestamp: NOW,
      headers,
    });
  });

  it('reads sent-at with or without zone and fraction, and refuses what is not a time', () => {
    expect(parseSentAt('2024-12-15T17:09:56+00:00')).toBe(NOW);
    expect(parseSentAt('2024-12-15T17:09:56Z')).toBe(NOW);
    expect(parseSentAt('2024-12-15T17:09:56')).toBe(NOW);
    expect(parseSentAt('2024-12-15T18:09:56+0100')).toBe(NOW);
    expect(parseSentAt('2024-12-15T17:09:56.250000+00:00')).toBeCloseTo(NOW + 0.25, 6);
    expect(parseSentAt(undefined)).toBeUndefined();
    // RFC 3339 5.6: T and Z may be written t and z; the same instant.
    for (const lower of ['2024-12-15t17:09:56+00:00', '2024-12-15T17:09:56z', '2024-12-15t17:09:56z'])
      expect(parseSentAt(lower), lower).toBe(NOW);
    expect(parseSentAt('2024-12-15t18:09:56.5+01:00')).toBe(NOW + 0.5);
    // Date.parse rolls a day past its month's end over: 2024-02-30 was read as March 1st.
    for (const bad of [
      'yesterday',
      '2024-13-45T99:00:00Z',
      '2024-02-30T10:00:00Z',
      '2023-02-29T10:00:00',
      // Not RFC 3339: another letter, an hour-only zone, a doubled z.
      '2024-12-15x17:09:56Z',
      '2024-12-15T17:09:56+01',
      '2024-12-15t17:09:56zz',
      '2024-12-15t17:09:56Zz',
      '',
      12n,
      {},
      Number.NaN,
    ])
      expect(parseSentAt(bad), String(bad)).toBeNull();
  });

  it('refuses each bad delivery with a reason, never throwing', () => {
    const cases: [Delivery, string][] = [
      [delivery('{not json'), 'invalid_json'],
      [delivery('[1,2]'), 'not_object'],
      [delivery('"text"'), 'not_object'],
      [delivery({ a: 1 }, { 'sent-at': 'soon' }), 'bad_timestamp'],
      [delivery({ a: 1 }, { 'sent-at': '2030-01-01T00:00:00+00:00' }), 'future_timestamp'],
      // An ISO time is in seconds by its form: year 9999 (a "never" sentinel) was taken for
      // epoch milliseconds, 1978, and counted there; year 5138 and later alike.
      [delivery({ a: 1 }, { 'sent-at': '9999-12-31T00:00:00Z' }), 'future_timestamp'],
      [delivery({ a: 1 }, { 'sent-at': '5138-11-16T09:46:40Z' }), 'future_timestamp'],
      [delivery({ a: 'x'.repeat(10_001) }), 'oversized'],
      [delivery(JSON.parse(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`)), 'too_deep'],
      [
        delivery(
          { a: 1 },
          { 'sent-at': '2024-12-15T17:09:56Z', deep: JSON.parse(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`) },
        ),
        'too_deep',
      ],
      [delivery({ a: Array.from({ length: 2000 }, (_, i) => i) }), 'too_many_keys'],
      [
        delivery(
          { a: 1 },
          Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`fedora_messaging_user_u${i}`, true])),
        ),
        'too_many_keys',
      ],
      [delivery({ a: 1 }, undefined, { routingKey: '' }), 'bad_topic'],
    ];
    for (const [d, reason] of cases) expect(decodeDelivery(d, limits), reason).toMatchObject({ ok: false, reason });
  });

  it('fills a missing sent-at from the clock; a non-string message_id is not used as the id', () => {
    const r = decodeDelivery(delivery({ a: 1 }, {}, { messageId: 42 }), limits);
    expect(r).toMatchObject({ ok: true, filledTimestamp: true, envelope: { timestamp: NOW, headers: {} } });
    expect(r.ok && r.envelope.msg_id).toMatch(/^amqp-content:[0-9a-f]{40}$/);
    // With sent-at, the journal's own digest is stable already: nothing is made up.
    const timed = decodeDelivery(
      delivery({ a: 1 }, { 'sent-at': '2024-12-15T17:09:56+00:00' }, { messageId: 42 }),
      limits,
    );
    expect(timed.ok && 'msg_id' in timed.envelope).toBe(false);
  });

  it('refuses a sent-at that is a number but no finite one (an AMQP float or double), saying so', () => {
    // jsonSafe writes a non-finite number as null, the form of a missing header: such a message
    // was stamped with its arrival time instead of being refused as any other bad time is.
    // Here and not over a broker: RabbitMQ cannot parse such a table (parse_table's
    // function_clause) and closes the publisher's connection (541 INTERNAL_ERROR).
    for (const [value, read] of [
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
      [Number.NaN, 'NaN'],
    ] as const)
      expect(decodeDelivery(delivery({ a: 1 }, { 'sent-at': value }), limits), read).toEqual({
        ok: false,
        reason: 'bad_timestamp',
        detail: `sent-at is not a finite number (read as ${read})`,
      });
    // An absent or void (null) sent-at is still no time given: the arrival time, as before.
    for (const headers of [{}, { 'sent-at': null }, { 'sent-at': undefined }])
      expect(decodeDelivery(delivery({ a: 1 }, headers), limits)).toMatchObject({
        ok: true,
        filledTimestamp: true,
        envelope: { timestamp: NOW },
      });
  });

  it('gives a redelivery of a message without a usable message_id nor sent-at the id it had the first time', () => {
    // The second copy arrives later: its filled timestamp differs, which used to make it a new message.
    const at = (now: number) => ({ ...limits, nowSeconds: () => now });
    const idOf = (d: Delivery, now: number) => {
      const r = decodeDelivery(d, at(now));
      if (!r.ok) throw new Error(r.detail);
      return messageId(r.envelope);
    };
    for (const messageIdValue of [undefined, '', 'x'.repeat(201), 'a\u0001b']) {
      const d = delivery({ a: 1 }, { fedora_messaging_severity: 20 }, { messageId: messageIdValue });
      expect(idOf(d, NOW), String(messageIdValue)).toBe(idOf({ ...d, redelivered: true }, NOW + 40));
      // Another body, routing key or header is another message.
      expect(idOf(d, NOW)).not.toBe(idOf({ ...d, content: Buffer.from('{"a":2}') }, NOW));
      expect(idOf(d, NOW)).not.toBe(idOf({ ...d, routingKey: `${d.routingKey}.x` }, NOW));
      expect(idOf(d, NOW)).not.toBe(idOf({ ...d, headers: { fedora_messaging_severity: 30 } }, NOW));
    }
    // Headers a broker adds to a redelivery (a quorum queue's count, dead-lettering) are not the message's.
    const plain = delivery({ a: 1 }, { foo: 'bar' }, { messageId: undefined });
    expect(idOf(plain, NOW)).toBe(
      idOf(
        { ...plain, redelivered: true, headers: { foo: 'bar', 'x-delivery-count': 1, 'x-death': [{ count: 1 }] } },
        NOW + 9,
      ),
    );
    // A usable message_id is used as it is, whatever the clock.
    const named = delivery({ a: 1 }, {});
    expect(idOf(named, NOW)).toBe(idOf(named, NOW + 40));
    expect(idOf(named, NOW).startsWith('1cf56046-167e-45b3-9f5c-4830720d6797#')).toBe(true);
  });

  it('turns AMQP table values into JSON-safe ones', () => {
    expect(
      jsonSafe(
        { b: Buffer.from('héllo'), n: Number.POSITIVE_INFINITY, l: [1, Buffer.from('x')], big: 5n, d: new Date(0) },
        8,
      ),
    ).toEqual({ b: 'héllo', n: null, l: [1, 'x'], big: 5, d: '1970-01-01T00:00:00.000Z' });
    expect(jsonSafe({ a: { b: { c: 1 } } }, 2)).toBeUndefined();
  });
});

describe('usernames and packages from fedora-messaging headers', () => {
  const envelope = (headers?: Record<string, unknown>): Envelope => ({
    topic: 'org.fedoraproject.prod.copr.build.end',
    timestamp: NOW,
    msg: { owner: 'bodyowner', user: 'bodyowner', pkg: 'bodypkg' },
    ...(headers ? { headers } : {}),
  });

  it('prefers the header keys over what the rules derive, and falls back when there are none', () => {
    const derived = deriveMeta(envelope());
    expect(derived.usernames).toContain('bodyowner');
    const m = deriveMeta(
      envelope({
        fedora_messaging_user_ksurma: true,
        fedora_messaging_user_other: true,
        fedora_messaging_rpm_python3: true,
        fedora_messaging_user_gone: false,
      }),
    );
    expect(m.usernames).toEqual(['ksurma', 'other']);
    expect(m.packages).toEqual(['python3']);
    // Only users named: packages still come from the rules.
    expect(deriveMeta(envelope({ fedora_messaging_user_ksurma: true })).packages).toEqual(derived.packages);
  });

  it('keeps header names within --max-fanout', () => {
    const headers = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`fedora_messaging_user_u${String(i).padStart(2, '0')}`, true]),
    );
    let truncated = 0;
    const m = deriveMeta(envelope(headers), { maxFanout: 10, onTruncated: () => truncated++ });
    expect(m.usernames).toHaveLength(10);
    expect(truncated).toBe(1);
  });
});

describe('AMQP settings and the connection edge', () => {
  it('reads the settings from flags and the environment, defaults as Fedora consumers need', () => {
    const d = loadConfig({ env: {} });
    expect(d).toMatchObject({
      amqp: [],
      amqpBinding: ['#'],
      amqpQueue: null,
      amqpPrefetch: 25,
      amqpHeartbeat: 30,
      amqpCa: null,
      amqpCert: null,
      amqpKey: null,
      amqpReconnectMax: 60,
    });
    const c = loadConfig({
      env: {
        STATSCACHE_AMQP: 'amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub, amqp://localhost',
        STATSCACHE_AMQP_BINDING: 'org.fedoraproject.prod.#,org.release-monitoring.#',
        STATSCACHE_AMQP_PREFETCH: '50',
      },
    });
    expect(c.amqp).toEqual(['amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub', 'amqp://localhost']);
    expect(c.amqpBinding).toEqual(['org.fedoraproject.prod.#', 'org.release-monitoring.#']);
    expect(c.amqpPrefetch).toBe(50);
    // AMQP alone opens no ZeroMQ socket.
    expect(c.bind).toEqual([]);
    expect(() => loadConfig({ env: {}, flags: { amqp: ['http://x'] } })).toThrow(/setting "amqp" \(flag --amqp\)/);
    expect(() => loadConfig({ env: {}, flags: { amqpPrefetch: '0' } })).toThrow(/amqpPrefetch/);
    expect(() => loadConfig({ env: {}, flags: { amqpCert: '/c.pem' } })).toThrow(
      /--amqp-cert and --amqp-key go together/,
    );
  });

  it('backs off exponentially with jitter, capped', () => {
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, 500, 4000, () => 0))).toEqual([
      250, 500, 1000, 2000, 2000, 2000,
    ]);
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, 500, 4000, () => 1))).toEqual([
      500, 1000, 2000, 4000, 4000, 4000,
    ]);
  });

  it('never shows a password', () => {
    expect(redactUrl('amqps://user:s3cret@host:5671/%2Fvhost?heartbeat=5')).toBe('amqps://host:5671/%2Fvhost');
  });

  it('reports closed with the reason and schedules reconnects with growing delays when the broker is down', async () => {
    const timers = recordedReconnects();
    const { delays, fire } = timers;
    const states: AmqpStatus[] = [];
    const input = new AmqpInput({
      url: 'amqp://guest:guest@127.0.0.1:1/',
      bindings: ['#'],
      queue: null,
      prefetch: 25,
      heartbeatSeconds: 30,
      tls: {},
      reconnect: { initialMs: 500, maxMs: 60_000 },
      onDelivery: () => Promise.resolve(),
      onState: (s) => states.push(s),
      random: () => 1,
      ...timers.options,
    });
    input.start();
    for (let i = 0; i < 3; i++) {
      await expect.poll(() => delays.length, { timeout: 5000 }).toBe(i + 1);
      fire[i]?.();
    }
    await expect.poll(() => delays.length, { timeout: 5000 }).toBe(4);
    expect(delays).toEqual([500, 1000, 2000, 4000]);
    expect(input.current.state).toBe('closed');
    expect(input.current.reason).toMatch(/ECONNREFUSED.*reconnecting in 4000 ms/);
    expect(states.map((s) => s.state)).toEqual([
      'closed',
      'connecting',
      'closed',
      'connecting',
      'closed',
      'connecting',
      'closed',
    ]);
    await input.close();
    expect(input.current).toMatchObject({ state: 'closed', reason: 'stopped', connects: 0 });
  });
});
