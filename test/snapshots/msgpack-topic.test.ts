import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import '../../src/msgpack-strings.js';
import { decode, encode } from '../../snapshots/codec.js';
import { readPlain } from '../../snapshots/msgpack-read.js';
import { lcgC } from '../helpers/seeded-random.js';

/** readPlain gives what msgpackr gives for these bytes (the topic cache answers only for the same bytes). */
function same(bytes: Uint8Array, start = 0, end = bytes.byteLength): unknown {
  const mine = readPlain(bytes, start, end);
  const theirs = decode(bytes.subarray(start, end));
  expect(mine).not.toBeUndefined();
  expect(isDeepStrictEqual(mine, theirs)).toBe(true);
  expect(JSON.stringify(mine)).toBe(JSON.stringify(theirs));
  return mine;
}

/** A deterministic generator, so a failure names its case. */
const random = lcgC;

describe("replay's topic strings, one per distinct topic", () => {
  it('keeps apart topics of every length that differ in any one word, more of them than it has slots', () => {
    // Each set shares the length and every byte but those of one word, so topics that share a
    // slot differ only there (or only past the words the slot is found by): only a compare of
    // every word tells them apart.
    const next = random(3);
    const letter = () => 0x61 + Math.floor(next() * 26);
    for (const length of [1, 3, 4, 5, 8, 9, 16, 17, 32, 33, 63, 100, 255]) {
      const base = Array.from({ length }, (_, i) => 0x2e + (i % 11));
      for (let word = 0; 4 * word < length; word += word < 3 ? 1 : 5) {
        const topics = new Set<string>();
        for (let i = 0; i < 1_200; i++) {
          const bytes = [...base];
          for (let j = 4 * word; j < Math.min(4 * word + 4, length); j++) bytes[j] = letter();
          topics.add(String.fromCharCode(...bytes));
        }
        const records = [...topics].map((topic) => [topic, encode({ topic, timestamp: 1 })] as const);
        const wrong: string[] = [];
        for (let round = 0; round < 2; round++)
          for (const [topic, bytes] of records) {
            const read = readPlain(bytes, 0, bytes.byteLength) as { topic?: unknown } | undefined;
            if (read?.topic !== topic) wrong.push(topic);
          }
        expect(wrong).toEqual([]);
      }
    }
  });

  it('tells a topic from the same topic with NUL bytes after it, and reads no further than its record', () => {
    for (let length = 1; length <= 40; length++) {
      const topic = 'org.fedoraproject.prod.bodhi.update.req'.padEnd(40, 'x').slice(0, length);
      for (const t of [topic, `${topic}\u0000`, `${topic}\u0000\u0000\u0000`, topic])
        expect(same(encode({ timestamp: 1, topic: t }))).toEqual({ timestamp: 1, topic: t });
      // The topic ends the record: its last word would run past the end.
      const alone = encode({ topic });
      expect(same(alone)).toEqual({ topic });
      // The same bytes inside a larger buffer, other bytes after them: read to `end` only.
      const inside = Buffer.concat([Buffer.from([1, 2, 3]), alone, Buffer.from('ZZZZZZZZ')]);
      expect(same(inside, 3, 3 + alone.byteLength)).toEqual({ topic });
    }
  });

  it('reads malformed UTF-8, long topics and topics of other types as msgpackr does, the second time too', () => {
    const key = Buffer.from([0xa5, ...Buffer.from('topic')]);
    const values = [
      Buffer.from([0xa4, 0x61, 0xff, 0x2e, 0x62]),
      Buffer.from([0xd9, 3, 0xe2, 0x82, 0x2e]),
      Buffer.from([0xa6, 0xf0, 0x9f, 0x98, 0x80, 0x2e, 0x61]),
      Buffer.from([0xa0]),
      encode('o'.repeat(256)),
      encode('p'.repeat(70_000)),
      encode(7),
      encode(null),
      encode(['a.b.c.d']),
      encode({ topic: 'a.b.c.d' }),
    ];
    for (let round = 0; round < 2; round++)
      for (const value of values) same(Buffer.concat([Buffer.from([0x82]), key, value, Buffer.from([0xa1, 0x78, 1])]));
    // A str8 header whose length runs past the record: left to msgpackr, as for any other key.
    const cut = Buffer.concat([Buffer.from([0x81]), key, Buffer.from([0xd9, 9, 0x61])]);
    expect(readPlain(cut, 0, cut.byteLength)).toBeUndefined();
    const cutShort = Buffer.concat([Buffer.from([0x81]), key, Buffer.from([0xd9])]);
    expect(readPlain(cutShort, 0, cutShort.byteLength)).toBeUndefined();
  });
});
