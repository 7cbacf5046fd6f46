import { createHash, hash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { describe, expect, it } from 'vitest';
import { encodeChecked } from '../../snapshots/codec.js';
import { decodeFreshRecord, messageId } from '../../snapshots/journal-record.js';
import { keysInOrder } from '../../snapshots/stable-json.js';
import { type Prepared, prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import type { Envelope } from '../../src/envelope.js';
import { walkShape } from '../../src/envelope-limits.js';
import { deriveMeta } from '../../src/meta/index.js';
import { decodeHead } from '../../src/prepared-head.js';
import { type RawEnvelope, samples } from '../helpers/fixtures.js';
import { sortedDeep } from '../helpers/sorted-deep.js';

/**
 * What the bus thread hands over for a message (its id, journal record and head) is a contract:
 * ids are looked up through the API and de-duplicate against the journal, records are what the
 * journal stores, heads carry the meta every plugin reads. Speed work on the thread changes how
 * they are computed, never the bytes.
 */
const config = loadConfig({ env: {}, flags: { port: 0 } });
const limits = unclocked(threadLimits(config));

/**
 * The 510 samples at fixed times, each in two wire forms: as captured (keys in the capture's
 * order, some without a msg_id) and as fedmsg sends them (compact, keys sorted, with a msg_id).
 */
function inputs(): { readonly form: string; readonly envelope: RawEnvelope; readonly text: string }[] {
  const out: { form: string; envelope: RawEnvelope; text: string }[] = [];
  samples().forEach((e, i) => {
    const captured = { ...e, timestamp: 1_700_000_000 + i };
    out.push({ form: 'captured', envelope: captured, text: JSON.stringify(captured) });
    const sent = { ...captured, msg_id: `pin-${i}` };
    out.push({ form: 'sorted', envelope: sent, text: JSON.stringify(sortedDeep(sent)) });
  });
  return out;
}

function prepare(topic: string, text: string): Extract<Prepared, { kind: 'ready' }> {
  const p = prepareFrames([Buffer.from(topic), Buffer.from(text)], limits);
  if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
  return p;
}

/**
 * SHA-256 of every output (id, record, head, flags) for inputs(), as 293ed47's bus thread made
 * them (before the ingest speed work): a change of one byte anywhere changes it.
 */
const OUTPUTS_OF_293ED47 = 'db4adaeca1e71404c51c4d4aef4419b112c4063c3163e38d161b1f0008b09af9';

/**
 * The head in the form 293ed47 sent, byte for byte: the object { id, meta, fields } as JSON (the
 * head now crosses as a row: prepared-head.ts HeadRow), with the fields it leaves in the record
 * (a signed message's certificate and signature: prepared-head.ts, headOf) put back in their places.
 */
function wholeHead(p: Extract<Prepared, { kind: 'ready' }>): Uint8Array {
  expect(p.head[0]).toBe(0x5b);
  const head = decodeHead(p.head);
  const fields: Record<string, unknown> = { ...head.fields };
  if (head.lazy !== undefined) {
    const { envelope } = decodeFreshRecord(p.record);
    for (const name of ['certificate', 'signature']) {
      if (!(name in fields)) continue;
      expect(fields[name]).toBe(0);
      fields[name] = envelope[name];
    }
  }
  return Buffer.from(JSON.stringify({ id: head.id, meta: head.meta, fields }));
}

describe("the bus thread's outputs", () => {
  it('are byte for byte those of the code before the speed work, for every sample in both wire forms', () => {
    const all = createHash('sha256');
    let lazy = 0;
    for (const { envelope, text } of inputs()) {
      if (decodeHead(prepare(envelope.topic, text).head).lazy !== undefined) lazy++;
      const p = prepare(envelope.topic, text);
      all.update(p.record).update('|').update(wholeHead(p)).update(`|${p.truncated}|${p.corrected}\n`);
    }
    expect(all.digest('hex')).toBe(OUTPUTS_OF_293ED47);
    // The two signed samples, in both wire forms.
    expect(lazy).toBe(4);
  });

  it('give the id of its documented formula, the record of the generic codec and the meta of deriveMeta', () => {
    const reference = frameLimits(config, () => Number.POSITIVE_INFINITY);
    let sortedPath = 0;
    for (const { form, envelope, text } of inputs()) {
      const p = prepare(envelope.topic, text);
      const head = decodeHead(p.head);
      const msgId = envelope['msg_id'];
      if (typeof msgId === 'string') {
        // Written from the formula (journal-record.ts), with the library's sorting, not the service's.
        const digest = hash('sha1', stringify({ topic: envelope.topic, msg: envelope['msg'] }) ?? '', 'hex');
        expect(head.id, form).toBe(`${msgId}#${digest.slice(0, 16)}`);
      } else {
        expect(head.id, form).toMatch(/^sha1:[0-9a-f]{40}$/);
      }
      const decoded = decodeFrames([Buffer.from(envelope.topic), Buffer.from(text)], reference);
      if (!decoded.ok) throw new Error(decoded.detail);
      expect(head.id).toBe(messageId(decoded.envelope));
      expect(Buffer.from(p.record).equals(encodeChecked({ id: head.id, envelope: decoded.envelope }))).toBe(true);
      expect(head.meta).toEqual(deriveMeta(decoded.envelope, { maxFanout: config.maxFanout }));
      // The walk stable-json.ts makes is the reference for the order walkShape proves on the way.
      expect(decoded.keysSorted, form).toBe(keysInOrder(JSON.parse(text)));
      if (decoded.keysSorted && form === 'sorted') sortedPath++;
    }
    // The fedmsg form takes the path that skips the second walk, but for integer-like keys ("2" enumerates before "10").
    expect(sortedPath).toBeGreaterThan(500);
  });
});

describe('walkShape', () => {
  const walk = (v: unknown) => walkShape(v, 64, 100_000);
  it('says whether every object has its keys in sorted order, at any depth and inside arrays', () => {
    expect(walk(JSON.parse('{"a":1,"b":{"c":[{"d":1,"e":2}],"f":null}}'))).toBe(true);
    expect(walk(JSON.parse('{"b":1,"a":2}'))).toBe(false);
    expect(walk(JSON.parse('{"a":{"c":[{"e":1,"d":2}]}}'))).toBe(false);
    // Integer-like keys enumerate first, in numeric order: "2" before "10" is not sorted text.
    expect(walk(JSON.parse('{"10":1,"2":2}'))).toBe(false);
    expect(walk(JSON.parse('{"B":1,"a":2,"b":3}'))).toBe(true);
    expect(walk(JSON.parse('{"a":1,"a":2}'))).toBe(true);
    expect(walk('text')).toBe(true);
  });

  it('still refuses what checkShape refuses, sorted or not', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = { a: deep };
    expect(walk(deep)).toMatchObject({ reason: 'too_deep' });
    expect(walkShape({ a: [1, 2, 3], b: 1 }, 64, 3)).toMatchObject({ reason: 'too_many_keys' });
  });

  it('is not trusted once wellFormed() changed the envelope (a renamed __proto__ member)', () => {
    const text = '{"msg":{"__proto__":1,"a":2},"msg_id":"m","timestamp":1,"topic":"t"}';
    const d = decodeFrames(
      [Buffer.from('t'), Buffer.from(text)],
      frameLimits(config, () => 2),
    );
    if (!d.ok) throw new Error(d.detail);
    expect(d.keysSorted).toBe(false);
    expect(Object.keys(d.envelope.msg as object)).toEqual(['__proto_', 'a']);
    const p = prepare('t', text);
    expect(decodeHead(p.head).id).toBe(messageId(d.envelope as Envelope));
  });
});
