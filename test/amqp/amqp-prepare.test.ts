import { afterAll, describe, expect, it } from 'vitest';
import { encodeJournalRecord, messageId } from '../../snapshots/journal-record.js';
import { decodeDelivery, type Delivery, TOO_DEEP } from '../../src/amqp-message.js';
import { fromWireDelivery, prepareDelivery, toWireDelivery } from '../../src/amqp-prepare.js';
import type { OffThread } from '../../src/amqp-prepare-answer.js';
import { AmqpPrepareThread } from '../../src/amqp-prepare-thread.js';
import { threadLimits } from '../../src/bus-prepare.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { frameLimits } from '../../src/decode-frames.js';
import type { Envelope } from '../../src/envelope.js';
import { preparedAhead } from '../../src/intake.js';
import { deriveMeta } from '../../src/meta/index.js';
import { decodeHead, withBodyFrom } from '../../src/prepared-head.js';
import { toWire } from '../helpers/amqp-publisher.js';
import { recentSamples } from '../helpers/fixtures.js';

/**
 * A delivery prepared on the AMQP prepare thread must journal exactly what the main thread
 * makes of it (decodeDelivery, then Journal.accept's messageId and encodeJournalRecord): the
 * same id, the same record bytes, the same meta, or the same refusal.
 */
const NOW = 1_765_000_000.25;
const config = loadConfig({ env: {}, flags: { dataDir: '/nonexistent', maxFanout: 3 } });
const mainLimits = frameLimits(config, () => NOW);
const limits = threadLimits(config);

/** As the main thread hands it over: its content copied, the whole crossing a structured clone. */
const crossed = (d: Delivery): Delivery =>
  fromWireDelivery(structuredClone(toWireDelivery(d, new Uint8Array(d.content))));

function deliveryOf(e: Record<string, unknown> & { topic: string }): Delivery {
  const wire = toWire(e);
  return {
    routingKey: wire.topic,
    content: wire.body,
    messageId: wire.messageId,
    headers: wire.headers,
    redelivered: false,
  };
}

/** The main thread's path: what it journals, or why it refuses. */
function onMain(d: Delivery) {
  const r = decodeDelivery(d, mainLimits);
  if (!r.ok) return { kind: 'rejected', reason: r.reason, detail: r.detail } as const;
  const id = messageId(r.envelope);
  let truncated = false;
  const meta = deriveMeta(r.envelope, { maxFanout: config.maxFanout, onTruncated: () => (truncated = true) });
  return {
    kind: 'ready',
    id,
    record: encodeJournalRecord(id, r.envelope),
    envelope: r.envelope,
    meta,
    truncated,
    filled: r.filledTimestamp,
    corrected: r.correctedTimestamp,
  } as const;
}

/** The thread's answer, unpacked as the main thread unpacks it. */
function onThread(d: Delivery, fill: (() => number) | null = () => NOW) {
  const p = prepareDelivery(crossed(d), limits, fill);
  if (p.kind !== 'ready') return p;
  const head = decodeHead(p.head);
  const envelope = withBodyFrom({ ...head.fields }, p.record, head.lazy);
  return { ...p, id: head.id, meta: head.meta, envelope };
}

function expectSame(d: Delivery): void {
  const main = onMain(d);
  const there = onThread(d);
  if (main.kind === 'rejected') {
    expect(there).toEqual(main);
    return;
  }
  expect(there.kind).toBe('ready');
  if (there.kind !== 'ready') return;
  expect(there.id).toBe(main.id);
  expect(Buffer.from(there.record).equals(Buffer.from(main.record))).toBe(true);
  expect(there.meta).toEqual(main.meta);
  expect(JSON.parse(JSON.stringify(there.envelope))).toEqual(JSON.parse(JSON.stringify(main.envelope)));
  expect([there.truncated, there.filled, there.corrected]).toEqual([main.truncated, main.filled, main.corrected]);
}

const samples = recentSamples(NOW).map(deliveryOf);
const reversed = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${n - i}`, i]));
const base = samples[0] as Delivery;
const variant = (body: unknown, headers: unknown, extra: Partial<Delivery> = {}): Delivery => ({
  ...base,
  content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  headers,
  ...extra,
});
const sent = { 'sent-at': '2025-12-06T05:46:40+00:00' };

describe('a delivery prepared on the AMQP prepare thread', () => {
  it('journals the id, record and meta the main thread makes, for every fixture sample', () => {
    expect(samples.length).toBeGreaterThan(100);
    for (const d of samples) expectSame(d);
  });

  it('and for unsorted, untimed, unit-corrected, escaped and byte-valued ones', () => {
    const cases: Delivery[] = [
      variant(reversed(5000), sent),
      // No sent-at: the clock's reading; with and without a usable message_id (the content id).
      variant(reversed(300), { fedora_messaging_severity: 20 }),
      variant(reversed(300), { 'sent-at': null }, { messageId: undefined }),
      variant({ a: 1 }, undefined, { messageId: '' }),
      // Numeric sent-at in ms and µs (read as such), an ISO one with a fraction and a zone.
      variant({ a: 1 }, { 'sent-at': 1_765_000_000_123 }),
      variant({ a: 1 }, { 'sent-at': 1_765_000_000_123_456 }),
      variant({ a: 1 }, { 'sent-at': '2025-12-06T06:46:40.123456+01:00' }),
      // A lone surrogate escaped in the body (made well-formed), header bytes and nested tables.
      variant('{"t":"\\ud800x","u":"\\u00e9"}', { ...sent, raw: Buffer.from('bytes'), t: { n: [1, 'x', null] } }),
      variant({ users: { a: 'alice', b: 'bob', c: 'carol', d: 'dave', e: 'eve' } }, sent),
    ];
    for (const d of cases) expectSame(d);
  });

  it('refuses what the main thread refuses, for the same reason and detail', () => {
    let deep: unknown = 1;
    for (let i = 0; i < config.maxMessageDepth + 2; i++) deep = { d: deep };
    const cases: Delivery[] = [
      variant('{"a":', sent),
      variant('[1,2]', sent),
      variant('null', sent),
      variant({ deep }, sent),
      variant(reversed(config.maxMessageKeys + 1), sent),
      variant({ a: 1 }, { 'sent-at': 'yesterday' }),
      variant({ a: 1 }, { 'sent-at': -5 }),
      // A non-finite AMQP float or double: refused on both, with the same detail.
      variant({ a: 1 }, { 'sent-at': Number.POSITIVE_INFINITY }),
      variant({ a: 1 }, { 'sent-at': Number.NaN }),
      variant({ a: 1 }, 'not a table'),
      // The codec guard's marks: symbol-keyed, which a structured clone drops unless carried over.
      variant({ a: 1 }, { [TOO_DEEP]: 1100 }),
      variant({ a: 1 }, { [TOO_DEEP]: -1 }),
      variant('{"a":', { [TOO_DEEP]: 1100 }),
    ];
    for (const d of cases) {
      expect(onMain(d).kind).toBe('rejected');
      expectSame(d);
    }
  });

  it('leaves a delivery without sent-at to the main thread when it has no clock to read', () => {
    expect(onThread(variant({ a: 1 }, {}), null)).toEqual({ kind: 'clock' });
    expect(onThread(variant({ a: 1 }, { 'sent-at': null }), null)).toEqual({ kind: 'clock' });
    expect(onThread(variant({ a: 1 }, sent), null).kind).toBe('ready');
  });

  it('a timestamp far ahead is left for the main thread to judge on its clock, with the same detail', () => {
    for (const sentAtValue of ['2099-01-01T00:00:00+00:00', NOW + 3600, (NOW + 3600) * 1000, (NOW + 3600) * 1e6]) {
      const ahead = variant({ a: 1 }, { 'sent-at': sentAtValue });
      const main = onMain(ahead);
      expect(main).toMatchObject({ kind: 'rejected', reason: 'future_timestamp' });
      const there = onThread(ahead);
      expect(there).toMatchObject({ kind: 'ready', filled: false });
      if (there.kind !== 'ready' || main.kind !== 'rejected') continue;
      expect(preparedAhead(there, mainLimits)).toBe(main.detail);
      // Within the skew of a later clock, it passes.
      const at = (there.envelope as Envelope).timestamp;
      expect(preparedAhead(there, { ...mainLimits, nowSeconds: () => at })).toBeNull();
    }
  });
});

describe('the AMQP prepare thread', () => {
  const thread = new AmqpPrepareThread({
    limits,
    fillTimestamps: false,
    minBytes: 0,
    maxInFlightBytes: 64 * 1024,
    hangTimeoutMs: 0,
    startTimeoutMs: 0,
    // A failure is the measurement's (the test's) end: no fresh thread.
    restarts: 0,
    clock: systemClock,
    onRestarted: () => undefined,
    onFailed: (reason) => {
      throw new Error(reason);
    },
  });
  afterAll(() => thread.close());

  it('answers every fixture sample with the main thread’s record, id and meta, several in flight at once', async () => {
    const answers: OffThread[] = await Promise.all(samples.map((d) => thread.prepare(d)));
    expect(thread.failed).toBeNull();
    answers.forEach((answer, i) => {
      const main = onMain(samples[i] as Delivery);
      expect(answer?.kind).toBe('ready');
      if (answer?.kind !== 'ready' || main.kind !== 'ready') return;
      expect(answer.id).toBe(main.id);
      expect(Buffer.from(answer.record).equals(Buffer.from(main.record))).toBe(true);
      expect(answer.meta).toEqual(main.meta);
      expect((answer.envelope as Envelope).timestamp).toBe(main.envelope.timestamp);
    });
  });

  it('answers a delivery whose headers cannot be cloned on the main thread, and hands over what waited behind it', async () => {
    // The first fills the in-flight bound alone, so the second waits for room; the first's post
    // fails (a function cannot be cloned) and gives it back: the second must then go, not wait for good.
    const big = {
      ...(samples[0] as Delivery),
      content: Buffer.from(JSON.stringify({ pad: 'x'.repeat(64 * 1024) })),
      headers: { 'sent-at': '2024-01-01T00:00:00+00:00', odd: () => 1 },
    };
    const small = samples.find((d) => d.content.byteLength < 1024) as Delivery;
    const [first, second] = await Promise.all([thread.prepare(big), thread.prepare(small)]);
    expect(first).toBeNull();
    expect(second?.kind).toBe('ready');
    expect(thread.failed).toBeNull();
  });

  it('takes the deliveries handed over in one turn in one message, and answers each in order', async () => {
    const small = samples.filter((d) => d.content.byteLength < 1024).slice(0, 20);
    expect(small).toHaveLength(20);
    const before = thread.handOvers;
    const answers = await Promise.all(small.map((d) => thread.prepare(d)));
    // One message for the twenty (one each before: a message costs the main thread as much as a small decode).
    expect(thread.handOvers - before).toBe(1);
    answers.forEach((answer, i) => {
      const main = onMain(small[i] as Delivery);
      expect(answer?.kind === 'ready' && main.kind === 'ready' && answer.id === main.id).toBe(true);
    });
  });
});
