import { describe, expect, it } from 'vitest';
import { IdFilter, MAX_FILTER_IDS, MIN_FILTER_IDS } from '../../snapshots/id-filter.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/** Ids shaped like real ones (`<msg_id>#<16 hex>`), drawn from a seed. */
function ids(seed: number, n: number): string[] {
  const random = mulberry32(seed);
  const hex = () =>
    Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return Array.from({ length: n }, () => `2026-${hex()}-${hex()}-${hex()}#${hex()}${hex()}`);
}

describe('id filter', () => {
  it('holds every id added (no false "never"), and says "never" for almost all others when full', () => {
    const filter = new IdFilter(MIN_FILTER_IDS);
    const added = ids(1, MIN_FILTER_IDS);
    for (const id of added) filter.add(id);
    expect(added.every((id) => filter.mightHold(id))).toBe(true);
    const others = ids(2, 50_000);
    const falsePositives = others.filter((id) => filter.mightHold(id)).length;
    // Sized for ~0.8% at capacity; a broken hash (one bit per id, correlated lanes) gives far more.
    expect(falsePositives / others.length).toBeLessThan(0.02);
    expect(filter.added).toBe(MIN_FILTER_IDS);
  });

  it('tells ids apart that differ in one character anywhere, and the empty id', () => {
    const filter = new IdFilter(1000);
    const base = ids(3, 1)[0] as string;
    filter.add(base);
    filter.add('');
    expect(filter.mightHold('')).toBe(true);
    let held = 0;
    for (let i = 0; i < base.length; i++) {
      const changed = base.slice(0, i) + (base[i] === 'x' ? 'y' : 'x') + base.slice(i + 1);
      if (filter.mightHold(changed)) held++;
    }
    expect(held).toBe(0);
  });

  it('keeps its size within bounds whatever capacity it is asked for', () => {
    const small = new IdFilter(0);
    expect(small.capacity).toBe(MIN_FILTER_IDS);
    expect(new IdFilter(Number.NaN).capacity).toBe(MIN_FILTER_IDS);
    // At least 10 bits per id, in a power of two.
    expect(small.bytes * 8).toBeGreaterThanOrEqual(MIN_FILTER_IDS * 10);
    const large = new IdFilter(Number.POSITIVE_INFINITY);
    expect(large.capacity).toBe(MAX_FILTER_IDS);
    expect(large.bytes).toBe(32 * 1024 * 1024);
    expect(new IdFilter(4 * MIN_FILTER_IDS).bytes).toBe(4 * small.bytes);
  });
});
