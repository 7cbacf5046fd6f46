import { describe, expect, it } from 'vitest';
import { forgetOldest } from '../../src/forget-oldest.js';
import { mulberry32 } from '../helpers/seeded-random.js';

describe('forgetOldest', () => {
  it('always deletes the oldest key, whatever sets, re-sets and deletes came between (against a model)', () => {
    for (const seed of [1, 2, 3]) {
      const random = mulberry32(seed);
      const map = new Map<string, number>();
      // The model: keys oldest first; a key set again (after a delete) moves to the end.
      const order: string[] = [];
      for (let step = 0; step < 20_000; step++) {
        const key = `k${Math.floor(random() * 300)}`;
        const r = random();
        if (r < 0.5) {
          map.delete(key);
          map.set(key, step);
          const at = order.indexOf(key);
          if (at >= 0) order.splice(at, 1);
          order.push(key);
        } else if (r < 0.6) {
          map.delete(key);
          const at = order.indexOf(key);
          if (at >= 0) order.splice(at, 1);
        } else if (map.size > 0) {
          forgetOldest(map);
          order.shift();
        }
        if (step % 97 === 0) expect([...map.keys()], `seed ${seed}, step ${step}`).toEqual(order);
      }
      expect([...map.keys()]).toEqual(order);
    }
  });

  it('goes on after the map was emptied and filled again, and does nothing to an empty map', () => {
    const map = new Map<number, string>([
      [1, 'a'],
      [2, 'b'],
    ]);
    forgetOldest(map);
    forgetOldest(map);
    forgetOldest(map);
    expect(map.size).toBe(0);
    map.set(3, 'c');
    map.set(4, 'd');
    forgetOldest(map);
    expect([...map.keys()]).toEqual([4]);
  });
});
