import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../snapshots/codec.js';
import { KeyShare } from '../../snapshots/key-share.js';

/** Entries as a restore decodes them: fresh objects from their msgpack bytes. */
const decoded = (value: unknown): unknown => decode(encode(value));

describe('KeyShare', () => {
  it('leaves every value as decoded: only a field equal to its key is pointed at the key', () => {
    const share = new KeyShare();
    const entries: [string, unknown][] = [
      ['alice', { timestamp: 1_700_000_000, user: 'alice', n: 1 }],
      ['bob', { timestamp: 1_700_000_001, user: 'bob', n: 2 }],
      // The remembered field does not match here; another does, and nothing else moves.
      ['carol', { timestamp: 1_700_000_002, user: 'someone else', owner: 'carol', n: 3 }],
      ['dave', { user: 'dave', also: 'dave' }],
      ['7', { n: 7, user: 'x' }],
      ['erin', 42],
      ['frank', null],
      ['gina', ['gina', 'h']],
      ['hal', 'hal'],
    ];
    for (const [key, value] of entries) {
      const copy = decoded(value);
      share.share(key, copy);
      expect(copy).toEqual(value);
    }
  });

  it('never takes a number for its key written as a string', () => {
    const share = new KeyShare();
    const value = decoded({ n: 5 }) as { n: unknown };
    share.share('5', value);
    expect(value.n).toBe(5);
  });

  it('goes on leaving values as they were after it stops looking for a field', () => {
    const share = new KeyShare();
    // Keys made of several columns match no single field: it gives up looking after a few.
    for (let i = 0; i < 100; i++) {
      const value = { user: `u${i}`, day: i };
      const copy = decoded(value);
      share.share(`u${i}\u001f${i}`, copy);
      expect(copy).toEqual(value);
    }
    const late = { user: 'late' };
    const copy = decoded(late);
    share.share('late', copy);
    expect(copy).toEqual(late);
  });
});
