/**
 * A history that ignores `page=` yet does not answer the same page twice in a row: behind a
 * load balancer, each backend (or each cache) gives its own first page, in turn. Paging stopped
 * only at a page equal to the one just before, so pages A, B, A, B… were read until the
 * 100,000-page bound: about 50 requests a second for half an hour, for each backfilled window.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readAll } from '../helpers/backfill-read-all.js';
import { serversClosedAfterEach } from '../helpers/closed-after-each.js';

const now = 1_800_000_000;
const servers = serversClosedAfterEach();

const message = (n: number) => ({
  topic: 'org.fedoraproject.prod.x.y',
  msg_id: `id-${n}`,
  timestamp: now - 1,
  msg: { n },
});

/** Answers the `backends` full pages in turn, whatever page= asks. */
async function roundRobin(backends: number, rowsPerPage: number): Promise<string> {
  let answered = 0;
  const server = createServer((_req, res) => {
    const first = (answered++ % backends) * rowsPerPage;
    const rows = Array.from({ length: rowsPerPage }, (_, i) => message(first + i));
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ raw_messages: rows, pages: 10 ** 7, total: 10 ** 9 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/raw`;
}

describe('backfill: a history that ignores page= and answers its pages in turn', () => {
  it('stops at the first page that repeats any page read before, after feeding each once', async () => {
    const [two, three] = await Promise.all([roundRobin(2, 5), roundRobin(3, 5)]);
    const r2 = await readAll(two, 5, now, 50);
    expect(r2.ids).toEqual(Array.from({ length: 10 }, (_, i) => `id-${i}`));
    expect(r2.cutShort).toEqual(['page 3 repeats page 1: the history ignores page=']);
    expect(r2.requests).toBe(3);
    const r3 = await readAll(three, 5, now, 50);
    expect(r3.ids).toEqual(Array.from({ length: 15 }, (_, i) => `id-${i}`));
    expect(r3.cutShort).toEqual(['page 4 repeats page 1: the history ignores page=']);
    expect(r3.requests).toBe(4);
  });
});
