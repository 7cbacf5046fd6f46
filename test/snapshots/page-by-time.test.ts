/**
 * DataStore.pageByTime, the stepped walk large unfiltered /raw queries use: its total and page
 * equal what countByTime() and seqsByTime() give in one go, for any step (including steps
 * smaller than the page), offset, window, order, and timestamps shared by many records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal } from '../helpers/persistence.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('pageByTime', () => {
  it('counts and pages exactly as countByTime and seqsByTime do, whatever the step', async () => {
    const { store, journal } = openJournal(dirs);
    const random = mulberry32(5);
    const N = 3000;
    // Many records share a timestamp (whole seconds), in no particular order of seq.
    for (let i = 0; i < N; i++)
      journal.accept({ topic: 'a.b.c.d', timestamp: 1000 + Math.floor(random() * 400), msg_id: `p-${i}`, msg: {} });
    await journal.flush();
    let pauses = 0;
    const pause = async () => {
      pauses++;
    };
    for (let round = 0; round < 60; round++) {
      const a = 990 + Math.floor(random() * 420);
      const b = a + Math.floor(random() * 300);
      const order = random() < 0.5 ? 'asc' : 'desc';
      const limit = 1 + Math.floor(random() * 120);
      const total = journal.countByTime(a, b);
      const offset = Math.floor(random() * (total + 50));
      const step = [1, 7, 100, 1000, 100_000][round % 5] as number;
      const expected = [...journal.seqsByTime(a, b, order)].slice(offset, offset + limit);
      const got = await store.pageByTime(a, b, order, offset, limit, pause, step);
      expect(got, `[${a}, ${b}] ${order} offset ${offset} limit ${limit} step ${step}`).toEqual({
        total,
        seqs: expected,
      });
    }
    expect(pauses).toBeGreaterThan(0);
    await store.close();
  });
});
