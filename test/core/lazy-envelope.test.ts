import { describe, expect, it } from 'vitest';
import { decodeFreshRecord } from '../../snapshots/journal-record.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { decodeHead, withBodyFrom } from '../../src/prepared-head.js';
import { recentSamples } from '../helpers/fixtures.js';
import { sortedDeep } from '../helpers/sorted-deep.js';

/**
 * The envelope a thread hands the main thread (prepared-head.ts withBodyFrom) reads `msg`, and a
 * signed message's certificate and signature, from its journal record when first asked. What a
 * plugin, a spread or JSON sees of it must be the envelope itself: the same keys in the same
 * order, the record nowhere among them, and one decode however many fields are read.
 */
const limits = unclocked(threadLimits(loadConfig({ env: {}, flags: { port: 0 } })));

/** Every real message, and the signed ones as fedmsg sends them (keys sorted): the lazy fields sit mid-envelope. */
function handed(): { envelope: Envelope; record: Uint8Array; keys: string[] }[] {
  const samples = recentSamples(Math.floor(Date.now() / 1000));
  const signed = samples.filter((e) => typeof e['certificate'] === 'string').map((e) => sortedDeep(e));
  const out: { envelope: Envelope; record: Uint8Array; keys: string[] }[] = [];
  for (const e of [...samples, ...signed] as Record<string, unknown>[]) {
    const p = prepareFrames([Buffer.from(String(e['topic'])), Buffer.from(JSON.stringify(e))], limits);
    if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
    const { fields, lazy } = decodeHead(p.head);
    // The head's keys in its order, then `msg`: what decoding the frames on the main thread gives.
    const keys = [...Object.keys(fields), 'msg'];
    // A copy of the record: a test below overwrites it.
    const record = new Uint8Array(p.record);
    out.push({ envelope: withBodyFrom(fields, record, lazy), record, keys });
  }
  return out;
}

describe('an envelope handed over with its body in its record', () => {
  it('has exactly the envelope’s keys, in order, and nothing else own: the record is out of sight', () => {
    let lazyOnes = 0;
    for (const { envelope, record, keys } of handed()) {
      expect(Object.keys(envelope)).toEqual(keys);
      expect(Reflect.ownKeys(envelope)).toEqual(keys);
      expect(Object.keys({ ...envelope })).toEqual(keys);
      const expected = decodeFreshRecord(record).envelope as unknown as Record<string, unknown>;
      expect(JSON.stringify(envelope)).toBe(JSON.stringify(Object.fromEntries(keys.map((k) => [k, expected[k]]))));
      if (typeof Object.getOwnPropertyDescriptor(envelope, 'certificate')?.get === 'function') lazyOnes++;
    }
    expect(lazyOnes).toBe(4);
  });

  it('decodes its record once: after the first read the record’s bytes are not read again', () => {
    for (const { envelope, record, keys } of handed()) {
      const first = JSON.stringify(envelope);
      const body = envelope.msg;
      record.fill(0xc1);
      expect(envelope.msg).toBe(body);
      expect(JSON.stringify(envelope)).toBe(first);
      expect(Object.keys(envelope)).toEqual(keys);
    }
  });

  it('reads its body on first use even when frozen before that', () => {
    for (const { envelope, record } of handed()) {
      Object.freeze(envelope);
      expect(envelope.msg).toEqual(decodeFreshRecord(record).envelope.msg);
      expect(envelope['certificate']).toEqual(decodeFreshRecord(record).envelope['certificate']);
      expect(Object.isFrozen(envelope)).toBe(true);
    }
  });

  it('keeps an own __proto__ key as a key, in its place, beside lazy fields, the prototype untouched', () => {
    // The intake renames a member __proto__ (well-formed.ts), so no head carries one; withBodyFrom
    // keeps it right all the same.
    const signed = recentSamples(Math.floor(Date.now() / 1000)).find((e) => typeof e['certificate'] === 'string');
    const p = prepareFrames([Buffer.from(String(signed?.topic)), Buffer.from(JSON.stringify(signed))], limits);
    if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
    const { fields, lazy } = decodeHead(p.head);
    expect(lazy).toBe(3);
    const withProto = JSON.parse(`{"__proto__":{"polluted":1},${JSON.stringify(fields).slice(1)}`);
    const keys = [...Object.keys(withProto), 'msg'];
    expect(keys[0]).toBe('__proto__');
    const envelope = withBodyFrom(withProto, p.record, lazy) as unknown as Record<string, unknown>;
    expect(Object.keys(envelope)).toEqual(keys);
    expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
    expect(envelope['polluted']).toBeUndefined();
    expect(envelope['certificate']).toBe(signed?.['certificate']);
  });

  it('takes a member named like an Object.prototype method as data, lazy fields or not', () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000));
    const signed = samples.find((e) => typeof e['certificate'] === 'string');
    for (const e of [samples[0], signed] as Record<string, unknown>[]) {
      const odd = { __defineGetter__: 1, defineProperty: 2, hasOwnProperty: 3, ...e };
      const p = prepareFrames([Buffer.from(String(e['topic'])), Buffer.from(JSON.stringify(odd))], limits);
      if (p.kind !== 'ready') throw new Error(`expected a ready message, got ${p.kind}`);
      const { fields, lazy } = decodeHead(p.head);
      const keys = [...Object.keys(fields), 'msg'];
      const envelope = withBodyFrom(fields, p.record, lazy) as unknown as Record<string, unknown>;
      expect(Object.keys(envelope)).toEqual(keys);
      expect(envelope['__defineGetter__']).toBe(1);
      expect(envelope['msg']).toEqual(e['msg']);
      expect(envelope['certificate']).toEqual(e['certificate']);
    }
  });
});
