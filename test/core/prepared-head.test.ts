import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../snapshots/codec.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { decodeHead, encodeHead, type PreparedHead, unpackPrepared } from '../../src/prepared-head.js';
import { PairBatch } from '../../src/transfer-buffer.js';
import { decodeFreshRecord } from '../../snapshots/journal-record.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { type RawEnvelope, recentSamples } from '../helpers/fixtures.js';
import { sortedDeep } from '../helpers/sorted-deep.js';

/**
 * The head crosses threads as JSON when that is exact and as msgpack otherwise: whichever way
 * it goes, the main thread must get back the value the bus thread made.
 */
const meta = { category: 'c', usernames: ['a'], packages: [], agent: null, link: null, subtitle: null };
const head = (fields: Record<string, unknown>): PreparedHead => ({
  id: 'x#1',
  meta,
  fields: { topic: 't', timestamp: 1, ...fields } as Omit<Envelope, 'msg'>,
});
// The JSON form is a row (an array): prepared-head.ts HeadRow.
const JSON_FORM = 0x5b;

describe('a prepared head', () => {
  it('goes as JSON for every real message and comes back equal to the msgpack form', () => {
    const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
    let n = 0;
    for (const e of recentSamples(Math.floor(Date.now() / 1000))) {
      const p = prepareFrames([Buffer.from(e.topic), Buffer.from(JSON.stringify(e))], limits);
      if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
      expect(p.head[0]).toBe(JSON_FORM);
      const back = decodeHead(p.head);
      // The msgpack form of the same head is the reference the JSON form must equal.
      expect(back).toEqual(decode(encode(back)));
      expect(back.fields.topic).toBe(e.topic);
      n++;
    }
    expect(n).toBe(510);
  });

  it('takes msgpack when JSON would change a value, and keeps that value', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['an overflowing number (Infinity)', { headers: { size: Number.POSITIVE_INFINITY } }],
      ['-Infinity in an array', { crypto: [1, Number.NEGATIVE_INFINITY] }],
      ['NaN', { i: Number.NaN }],
    ];
    for (const [what, fields] of cases) {
      const bytes = encodeHead(head(fields));
      expect(bytes[0], what).not.toBe(JSON_FORM);
      expect(decodeHead(bytes), what).toEqual(head(fields));
    }
    // -0 is 0 after either form (msgpackr writes it as the integer 0), so it needs no detour.
    expect(encodeHead(head({ i: -0 }))[0]).toBe(JSON_FORM);
    expect(decodeHead(encodeHead(head({ i: -0 })))).toEqual(decode(encode(head({ i: -0 }))));
  });

  it('keeps strings JSON cannot write as UTF-8 (lone surrogates) and nesting past the walk bound', () => {
    const lone = head({ username: 'a\ud800b', headers: { '\u2028': '\u0000"\\' } });
    const bytes = encodeHead(lone);
    expect(bytes[0]).toBe(JSON_FORM);
    expect(decodeHead(bytes)).toEqual(lone);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const nested = head({ headers: deep });
    const deepBytes = encodeHead(nested);
    expect(deepBytes[0]).not.toBe(JSON_FORM);
    expect(decodeHead(deepBytes)).toEqual(nested);
  });

  it('throws on bytes that are neither form', () => {
    expect(() => decodeHead(Buffer.from('{"id":'))).toThrow();
    // A JSON row cut short.
    expect(() => decodeHead(Buffer.from('["x#1",'))).toThrow();
    // A msgpack map cut short.
    expect(() => decodeHead(new Uint8Array([0x82, 0xa2, 0x69]))).toThrow();
  });

  it('crosses in a batch buffer and comes back whole: id, meta, fields, and the body from its record', () => {
    const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
    const pairs = new PairBatch();
    const sent: { end: number; headEnd: number; record: Uint8Array; head: PreparedHead }[] = [];
    for (const e of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 40)) {
      const p = prepareFrames([Buffer.from(e.topic), Buffer.from(JSON.stringify(e))], limits);
      if (p.kind !== 'ready') continue;
      const end = pairs.add(p.record, p.head);
      sent.push({ end, headEnd: pairs.size, record: p.record, head: decodeHead(p.head) });
    }
    expect(sent.length).toBe(40);
    const buffer = pairs.take();
    expect(buffer.byteLength).toBe(sent.at(-1)?.headEnd);
    expect(pairs.size).toBe(0);
    let start = 0;
    for (const s of sent) {
      const got = unpackPrepared(buffer, start, s.end, s.headEnd);
      start = s.headEnd;
      expect(got.id).toBe(s.head.id);
      expect(got.meta).toEqual(s.head.meta);
      expect(Buffer.from(got.record).equals(Buffer.from(s.record))).toBe(true);
      expect({ ...got.envelope }).toEqual(decodeFreshRecord(s.record).envelope);
    }
  });

  it('refuses a record or head outside its batch buffer, or a head cut short', () => {
    const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));
    const e = recentSamples(Math.floor(Date.now() / 1000))[0] as RawEnvelope;
    const p = prepareFrames([Buffer.from(e.topic), Buffer.from(JSON.stringify(e))], limits);
    if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
    const pairs = new PairBatch();
    const end = pairs.add(p.record, p.head);
    const headEnd = pairs.size;
    const buffer = pairs.take();
    expect(unpackPrepared(buffer, 0, end, headEnd).id).toBe(decodeHead(p.head).id);
    expect(() => unpackPrepared(buffer, 0, end, headEnd + 1)).toThrow(RangeError);
    expect(() => unpackPrepared(buffer, 0, end, end)).toThrow();
    expect(() => unpackPrepared(buffer, 0, end, end - 1)).toThrow();
    expect(() => unpackPrepared(buffer, 0, headEnd + 1, headEnd + 2)).toThrow(RangeError);
    expect(() => unpackPrepared(buffer, end, end - 1, headEnd)).toThrow(RangeError);
    // The row cut short: the head ends before its closing bracket.
    expect(() => unpackPrepared(buffer, 0, end, end + p.head.byteLength - 1)).toThrow(SyntaxError);
    // A fresh buffer of other bytes at the same places is read as itself, not as the one before.
    const other = new Uint8Array(headEnd);
    other.set(new Uint8Array(buffer));
    other.fill(0x20, end, headEnd);
    expect(() => unpackPrepared(other.buffer, 0, end, headEnd)).toThrow();
  });

  it("leaves a signed message's certificate and signature in its record, read back in their place among the keys", () => {
    const config = loadConfig({ env: {}, flags: { port: 0 } });
    const limits = unclocked(threadLimits(config));
    const signed = recentSamples(Math.floor(Date.now() / 1000)).filter((e) => typeof e['certificate'] === 'string');
    expect(signed.length).toBe(2);
    // As fedmsg sends them (keys sorted), and in the capture's order.
    const wires = signed.flatMap((e) => [JSON.stringify(sortedDeep(e)), JSON.stringify(e)]);
    // A certificate that is not a string crosses in the head as before.
    const odd = { ...(signed[0] as RawEnvelope), certificate: { pem: 'x' }, signature: null };
    wires.push(JSON.stringify(odd));
    const pairs = new PairBatch();
    const sent: { end: number; headEnd: number; wire: string; head: Uint8Array }[] = [];
    for (const wire of wires) {
      const p = prepareFrames([Buffer.from(JSON.parse(wire).topic), Buffer.from(wire)], limits);
      if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
      const end = pairs.add(p.record, p.head);
      sent.push({ end, headEnd: pairs.size, wire, head: p.head });
    }
    const buffer = pairs.take();
    let start = 0;
    for (const [i, s] of sent.entries()) {
      const got = unpackPrepared(buffer, start, s.end, s.headEnd);
      start = s.headEnd;
      // What the main thread decoding the frames itself would hold, `msg` last as the head's envelope has it.
      const decoded = decodeFrames(
        [Buffer.from(got.envelope.topic), Buffer.from(s.wire)],
        frameLimits(config, () => 2e9),
      );
      if (!decoded.ok) throw new Error(decoded.detail);
      const { msg, ...rest } = decoded.envelope;
      const expected: Record<string, unknown> = { ...rest, msg };
      expect(Object.keys(got.envelope)).toEqual(Object.keys(expected));
      expect(JSON.stringify(got.envelope)).toBe(JSON.stringify(expected));
      expect(got.envelope['certificate']).toEqual(expected['certificate']);
      const headText = Buffer.from(s.head).toString();
      if (i < 4) {
        // As JSON writes them (the certificate's newlines escaped).
        expect(headText).not.toContain(JSON.stringify(expected['certificate']));
        expect(headText).not.toContain(JSON.stringify(expected['signature']));
        expect(typeof got.envelope['signature']).toBe('string');
      } else {
        expect(headText).toContain('"pem":"x"');
        expect(got.envelope['signature']).toBeNull();
      }
      // Frozen as a plugin host freezes it: the getters still answer.
      Object.freeze(got.envelope);
      expect(got.envelope['certificate']).toEqual(expected['certificate']);
    }
  });
});
