/**
 * messages-last-24h: the windowed-counter example. Sample lines restamped (bodies untouched):
 * 74 and 211 are bodhi comments, 86 and 87 koji tasks (buildsys), 212 and 213 bodhi comments.
 */
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { harness, lines, rowsOf } from './harness.js';

// On a 15-minute boundary, so the slices are easy to follow.
const T = 1_700_000_100;
const at = (line: number, t: number): RawEnvelope => ({ ...lines(line)[0]!, timestamp: t });

describe('messages-last-24h', () => {
  it('counts per category over the 24 hours ending at the newest message, and forgets what falls behind', () => {
    const h = harness(builtinPlugins());
    const rt = h.rt('messages-last-24h');
    expect(rowsOf(rt)).toEqual([]);
    h.feed([at(74, T), at(211, T + 100), at(86, T + 3_600), at(87, T + 86_000)]);
    // The newest slice starts at T+85500; 96 slices of 15 minutes reach back to T: everything counts.
    expect(rowsOf(rt)).toEqual([
      { timestamp: T + 86_000, category: 'bodhi', volume: 2 },
      { timestamp: T + 86_000, category: 'buildsys', volume: 2 },
    ]);
    h.feed([at(213, T + 87_300)]); // the window now starts at T+1800: the slice at T (74 and 211) leaves
    expect(rowsOf(rt)).toEqual([
      { timestamp: T + 87_300, category: 'bodhi', volume: 1 },
      { timestamp: T + 87_300, category: 'buildsys', volume: 2 },
    ]);
    expect(rt.inspect().counters.expired).toBe(1); // one (slice, category) entry: bodhi at T
    h.feed([at(212, T + 50)]); // late: behind the window, counts nothing
    expect(rowsOf(rt, {}, 'asc').map((r) => (r as unknown as { volume: number }).volume)).toEqual([1, 2]);
    h.feed([at(87, T + 10 * 86_400)]);
    expect(rowsOf(rt)).toEqual([{ timestamp: T + 10 * 86_400, category: 'buildsys', volume: 1 }]);
    expect(rt.inspect().stores['day']!.size).toBe(1);
    h.stop();
  });
});
