import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSerializedMessage, serializedToEnvelope } from '../../src/amqp-message.js';
import { backfillPages } from '../../src/backfill.js';
import { decodeEnvelope } from '../../src/decode-frames.js';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { recentSamples } from '../helpers/fixtures.js';

describe("backfill from today's datagrepper /v2/search", () => {
  const fake = new FakeDatagrepper();
  const now = Math.floor(Date.now() / 1000);
  const batch: Stored[] = recentSamples(now).map((e) => ({
    ...e,
    timestamp: e.timestamp as number,
    msg_id: typeof e['msg_id'] === 'string' ? e['msg_id'] : randomUUID(),
  }));
  beforeAll(async () => {
    await fake.start();
    fake.messages.push(...batch);
  });
  afterAll(() => fake.close());

  const read = async (url: string) => {
    const envelopes = [];
    let invalid = 0;
    for await (const page of backfillPages(
      { start: now - 3600, end: now + 1 },
      { url, nowSeconds: () => now, rowsPerPage: 100 },
    )) {
      envelopes.push(...page.envelopes);
      invalid += page.invalid;
    }
    return { envelopes, invalid };
  };

  it('reads fedora-messaging rows {topic, body, headers, id} into the same envelopes as legacy /raw', async () => {
    const base = fake.url.replace(/\/raw$/, '');
    const legacy = await read(`${base}/raw`);
    const v2 = await read(`${base}/v2/search`);
    expect(legacy.invalid).toBe(0);
    expect(v2.invalid).toBe(0);
    expect(v2.envelopes).toHaveLength(batch.length);
    // Same topic, body, id and time: the journal's de-duplication key is the same either way.
    const key = (e: { topic: string; msg: unknown; msg_id?: string; timestamp: number }) =>
      JSON.stringify([e.topic, e.msg, e.msg_id, e.timestamp]);
    expect(v2.envelopes.map(key)).toEqual(legacy.envelopes.map(key));
    expect(v2.envelopes[0]?.['headers']).toMatchObject({
      'sent-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
    });
  });

  it('detects the form per message, and counts a row with an unreadable sent-at as invalid', async () => {
    const base = fake.url.replace(/\/raw$/, '');
    fake.v2Legacy = (_m, i) => i % 2 === 0;
    try {
      const mixed = await read(`${base}/v2/search`);
      expect(mixed.invalid).toBe(0);
      expect(mixed.envelopes.map((e) => e.msg_id)).toEqual(batch.map((e) => e['msg_id']));
    } finally {
      fake.v2Legacy = () => false;
    }
    const row = {
      topic: 'org.fedoraproject.prod.copr.build.end',
      body: { a: 1 },
      headers: { 'sent-at': 'not a time' },
      id: randomUUID(),
    };
    expect(isSerializedMessage(row)).toBe(true);
    expect(
      decodeEnvelope(serializedToEnvelope(row), '', {
        maxDepth: 64,
        maxKeys: 1e5,
        maxClockSkew: 300,
        nowSeconds: () => now,
      }),
    ).toMatchObject({ ok: false, reason: 'bad_timestamp' });
  });
});
