import { describe, expect, it } from 'vitest';
import { encode } from '../../snapshots/codec.js';
import { writePlain } from '../../snapshots/msgpack-write.js';

/**
 * Every string length from 0 to 300 UTF-16 units, in each kind of character, against msgpackr's
 * own bytes: the writer picks its path by length (its ASCII loop, its UTF-8 loop, Buffer's
 * encoder), so a moved crossover must leave no length written differently.
 * msgpack-write.test.ts has the header edges far past 300 and random mixes.
 */
const target = Buffer.alloc(1 << 16);

/** writePlain's bytes for `value` at an odd place, over bytes that are not zeros, equal msgpackr's. */
function sameAsMsgpackr(value: unknown, name: string): void {
  const theirs = encode(value);
  target.fill(0x5a, 0, theirs.byteLength + 64);
  const end = writePlain(value, target, 13);
  expect(end, name).toBeGreaterThan(0);
  const mine = target.subarray(13, end);
  if (!mine.equals(theirs)) expect(mine.toString('hex'), name).toBe(theirs.toString('hex'));
}

/** The units a kind's strings are made of, cycled: astral ones are pairs (2 units each). */
const KINDS: Record<string, string[]> = {
  ascii: ['a', 'Z', '0', '\u0000', '\u007f', ' ', '~'],
  latin1: ['\u0080', 'é', '\u00ff', 'ß'],
  bmp: ['\u0100', '\u07ff', '\u0800', '€', '\ufffd', '\uffff'],
  astral: ['😀', '\u{10000}', '\u{10ffff}'],
  lone: ['\ud800', '\udbff', '\udc00', '\udfff'],
};

/** `units` UTF-16 units of `kind`'s characters; an odd astral length ends in one lone high surrogate. */
function made(pieces: string[], units: number): string {
  let s = '';
  for (let i = 0; s.length < units; i++) s += pieces[i % pieces.length];
  return s.slice(0, units);
}

describe('msgpack write, strings of every length to 300', () => {
  it("writes ASCII, Latin-1, BMP, astral and lone-surrogate strings of every length as msgpackr's bytes", () => {
    const long = made(KINDS['ascii'] as string[], 400);
    for (let units = 0; units <= 300; units++) {
      for (const [kind, pieces] of Object.entries(KINDS)) {
        const s = made(pieces, units);
        sameAsMsgpackr(s, `${kind} ${units}`);
        // Flat (as JSON.parse makes a record's strings) as well as built by concatenation.
        sameAsMsgpackr(JSON.parse(JSON.stringify(s)) as string, `${kind} ${units} parsed`);
        if (units === 0) continue;
        // ASCII but for the last unit or the first: the one that sends the string off the ASCII path.
        const other = pieces[units % pieces.length] as string;
        sameAsMsgpackr(`${long.slice(0, units - 1)}${other}`, `${kind} last of ${units}`);
        sameAsMsgpackr(`${other}${long.slice(0, units - 1)}`, `${kind} first of ${units}`);
        // As a map's key and value, then again (a key written before comes from the writer's cache).
        sameAsMsgpackr({ [s]: s, k: `${s}${other}` }, `${kind} ${units} in a map`);
        sameAsMsgpackr({ [s]: [s] }, `${kind} ${units} in a map again`);
      }
      // A slice of a longer string, a representation of its own.
      sameAsMsgpackr(long.slice(7, 7 + units), `ascii ${units} sliced`);
    }
  });
});
