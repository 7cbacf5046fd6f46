import { describe, expect, it } from 'vitest';
import { AcceptTimes } from '../../src/accept-times.js';

/** The commit-delay metric's accept times: what a Map by seq answered, for entries handed on in seq order. */
describe('accept times by seq', () => {
  it('answers each pushed seq once, in order, across wrap-arounds and growth', () => {
    const times = new AcceptTimes();
    let next = 1;
    let taken = 1;
    // Uneven pushes and takes: the ring wraps, then grows past its first 1,024 pairs while wrapped.
    for (let round = 0; round < 40; round++) {
      const push = round < 20 ? 700 : 90;
      for (let k = 0; k < push; k++, next++) times.push(next, next * 10);
      const take = round < 20 ? 650 : 200;
      for (let k = 0; k < take && taken < next; k++, taken++) expect(times.take(taken)).toBe(taken * 10);
    }
    expect(times.waiting).toBe(next - taken);
  });

  it('answers undefined for a seq never pushed (replayed), keeping later ones', () => {
    const times = new AcceptTimes();
    times.push(10, 1);
    times.push(12, 2);
    expect(times.take(5)).toBeUndefined();
    expect(times.take(11)).toBeUndefined();
    expect(times.waiting).toBe(1);
    expect(times.take(12)).toBe(2);
    expect(times.take(13)).toBeUndefined();
    expect(times.waiting).toBe(0);
  });
});
