import { hash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { messageId } from '../../snapshots/journal-record.js';
import { keysInOrder, stableJson } from '../../snapshots/stable-json.js';
import { samples } from '../helpers/fixtures.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { sortedDeep } from '../helpers/sorted-deep.js';

/** As the wire carries it: compact JSON with sorted keys, parsed. */
const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(sortedDeep(value)));

/** Strings and keys that stress escaping and ordering: quotes, controls, lone and paired surrogates, non-ASCII, digits. */
const ATOMS = [
  'a',
  'b',
  'B',
  '_',
  '"',
  '\\',
  '\n',
  '\u0000',
  '\u001f',
  '\ud800',
  '\udc00',
  '😀',
  'é',
  'ü',
  '10',
  '2',
  '0',
  '__proto__',
  ' ',
];

function text(next: () => number): string {
  let s = '';
  const n = Math.floor(next() * 4);
  for (let i = 0; i < n; i++) s += ATOMS[Math.floor(next() * ATOMS.length)];
  return s;
}

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 8));
  switch (pick) {
    case 0:
      return text(next);
    case 1:
      return [0, -0, 1.5, -2e-7, 1e21, 2 ** 53 + 2, 123456789][Math.floor(next() * 7)];
    case 2:
      return next() < 0.5;
    case 3:
      return null;
    case 4:
      return Math.floor(next() * 1000);
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      const n = Math.floor(next() * 5);
      for (let i = 0; i < n; i++) out[text(next)] = value(next, depth + 1);
      return out;
    }
  }
}

describe('stableJson', () => {
  it('is safe-stable-stringify’s text for every fixture message, as captured and as the wire sorts it', () => {
    let fast = 0;
    for (const e of samples()) {
      for (const v of [e, wire(e), { msg: e['msg'], topic: e.topic }, wire({ msg: e['msg'], topic: e.topic })]) {
        expect(stableJson(v)).toBe(stringify(v));
        if (keysInOrder(v)) fast++;
      }
    }
    // The wire-sorted half takes the fast path (nearly all of it: a few hold integer-like keys).
    expect(fast).toBeGreaterThan(2 * 500);
  });

  it('is safe-stable-stringify’s text for random JSON values, sorted or not (escapes, surrogates, integer-like keys, -0)', () => {
    let fast = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const v = value(mulberry32(seed), 0);
      // Through JSON text, as the bus gives them (own "__proto__" keys included), and sorted.
      const parsed = JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
      for (const w of [v, parsed, sortedDeep(parsed), wire(parsed)]) {
        expect(stableJson(w), `seed ${seed}`).toBe(stringify(w));
        if (keysInOrder(w) && typeof w === 'object' && w !== null && Object.keys(w).length > 1) fast++;
      }
    }
    expect(fast).toBeGreaterThan(1000);
  });

  it('leaves to the library what JSON.stringify would write differently', () => {
    const odd: unknown[] = [
      { a: 1n },
      [2n],
      { b: new Date(0), a: 1 },
      { a: new Date(0) },
      { a: Buffer.from('xy') },
      { a: new Uint8Array([1, 2]) },
      { a: { toJSON: () => 'x' } },
      { a: new Map([[1, 2]]) },
      Object.assign(Object.create(null) as object, { a: 1, b: [undefined, () => 1] }),
      { a: undefined, b: () => 1, c: Symbol('s') },
      { 2: 'x', 10: 'y' },
      // JSON.stringify calls a function's toJSON; the library skips the member as a function.
      { a: Object.assign(() => 1, { toJSON: () => 'x' }) },
    ];
    for (const v of odd) expect(stableJson(v)).toBe(stringify(v));
    expect(keysInOrder({ a: 1n })).toBe(false);
    expect(keysInOrder({ a: new Date(0) })).toBe(false);
    expect(keysInOrder({ a: { toJSON: () => 'x' } })).toBe(false);
    expect(keysInOrder({ 2: 'x', 10: 'y' })).toBe(false);
    expect(keysInOrder({ b: 1, a: 2 })).toBe(false);
    expect(keysInOrder({ a: 2, b: [{ c: 1, d: { e: null } }] })).toBe(true);
  });

  it('gives up on values nested deeper than its walk and still answers like the library', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect(keysInOrder(deep)).toBe(false);
    expect(stableJson(deep)).toBe(stringify(deep));
  });
});

describe('messageId', () => {
  it('is unchanged: msg_id plus the SHA-1 of the sorted JSON of topic and msg, whatever order the keys came in', () => {
    for (const e of samples()) {
      for (const v of [e, wire(e)] as Envelope[]) {
        const id = messageId(v);
        if (typeof v.msg_id === 'string' && v.msg_id !== '' && v.msg_id.length <= 200) {
          const expected = hash('sha1', stringify({ topic: v.topic, msg: v.msg }) ?? '', 'hex').slice(0, 16);
          expect(id).toBe(`${v.msg_id}#${expected}`);
        } else {
          expect(id).toMatch(/^sha1:[0-9a-f]{40}$/);
        }
      }
      expect(messageId(wire(e) as Envelope)).toBe(messageId(e as Envelope));
    }
  });

  it('is unchanged for messages without a msg_id (the fields that identify them, sorted)', () => {
    for (const e of samples().slice(0, 60)) {
      const { msg_id: _, ...rest } = e;
      const v = { ...rest, i: 3, username: 'apache', timestamp: 1_400_000_000.12345 } as unknown as Envelope;
      const expected = hash(
        'sha1',
        stringify({
          msg_id: undefined,
          topic: v.topic,
          timestamp: 1_400_000_000.123,
          msg: v.msg,
          i: 3,
          username: 'apache',
        }) ?? '',
        'hex',
      );
      expect(messageId(v)).toBe(`sha1:${expected}`);
      expect(messageId(wire(v) as Envelope)).toBe(`sha1:${expected}`);
    }
  });
});
