import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/**
 * The fake datagrepper reads its pages from an index by time (test/helpers/time-ordered.ts)
 * instead of filtering and sorting everything it holds per page: every page must be what the
 * filter and a stable sort give, ties in push order both ways, as messages keep being pushed
 * (in time order and out of it).
 */
describe('the fake datagrepper pages as a filter and a stable sort of what it holds', () => {
  const dg = new FakeDatagrepper();
  beforeAll(() => dg.start());
  afterAll(() => dg.close());

  const expected = (start: number, end: number, asc: boolean): string[] =>
    dg.messages
      .filter((m) => m.timestamp >= start && m.timestamp <= end)
      .sort((a, b) => (asc ? a.timestamp - b.timestamp : b.timestamp - a.timestamp))
      .map((m) => String(m['msg_id']));

  async function served(start: number, end: number, asc: boolean, rowsPerPage: number): Promise<string[]> {
    const ids: string[] = [];
    for (let page = 1; ; page++) {
      const url = `${dg.url}?start=${start}&end=${end}&order=${asc ? 'asc' : 'desc'}&rows_per_page=${rowsPerPage}&page=${page}`;
      const body = (await (await fetch(url)).json()) as { raw_messages: Stored[]; total: number; pages: number };
      ids.push(...body.raw_messages.map((m) => String(m['msg_id'])));
      expect(body.total).toBe(expected(start, end, asc).length);
      if (page >= body.pages) return ids;
    }
  }

  it('in time order, with ties, and after pushes out of order', async () => {
    const random = mulberry32(7);
    let t = 1_000;
    let n = 0;
    const push = (timestamp: number) => dg.messages.push({ topic: 't', timestamp, msg_id: `m${n++}` });
    for (const outOfOrder of [false, true, false]) {
      for (let i = 0; i < 300; i++) {
        // Runs of equal timestamps, and (the second round) some dated before what is held.
        t += random() < 0.4 ? 0 : Math.floor(random() * 3);
        push(outOfOrder && random() < 0.1 ? 1_000 + Math.floor(random() * (t - 1_000)) : t);
      }
      for (let q = 0; q < 12; q++) {
        const start = 1_000 + Math.floor(random() * (t - 1_000));
        const end = start + Math.floor(random() * (t - start + 2));
        for (const asc of [true, false]) {
          const rowsPerPage = 7 + Math.floor(random() * 60);
          expect(await served(start, end, asc, rowsPerPage), `${start}..${end} ${asc} ${rowsPerPage}`).toEqual(
            expected(start, end, asc),
          );
        }
      }
    }
  });
});
