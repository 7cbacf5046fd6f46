import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackfillPage, backfillPages, pageByteBound } from '../../src/backfill.js';

/** A history that answers every request with `handler`: the hostile or broken outside world. */
async function history(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/raw`, server };
}

const now = 1_800_000_000;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Reads the window until the first failed attempt; returns the pages read and that attempt's error. */
async function firstFailure(url: string, rowsPerPage = 10, maxFrameBytes = 1024) {
  const abort = new AbortController();
  const pages: BackfillPage[] = [];
  let error = '';
  try {
    for await (const page of backfillPages(
      { start: now - 60, end: now },
      {
        url,
        rowsPerPage,
        nowSeconds: () => now,
        limits: { maxDepth: 64, maxKeys: 100_000, maxClockSkew: 300, maxFrameBytes },
        signal: abort.signal,
        requestTimeoutMs: 120_000,
        sleep: async () => {},
        onRetry: (info) => {
          error = info.error;
          abort.abort();
        },
      },
    ))
      pages.push(page);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  return { pages, error };
}

const message = (n: number) => ({
  topic: 'org.fedoraproject.prod.x.y',
  msg_id: `id-${n}`,
  timestamp: now - 1,
  msg: { n },
});

describe('backfill: the bounds on what one history answer may be', () => {
  const bound = pageByteBound(10, 1024);

  it('sizes a page by rows_per_page and --max-frame-bytes, never past what a string can hold', () => {
    expect(bound).toBe(10 * 2 * 1024 + 1024 * 1024);
    expect(pageByteBound(100, 64 * 1024 * 1024)).toBe(0x1fffffe8);
  });

  it('cuts off a body that never ends at the bound, names it, and retries the page', async () => {
    let sent = 0;
    const h = await history((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"raw_messages":[');
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      };
      res.on('drain', pump);
      req.on('close', () => res.destroy());
      pump();
    });
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(pages).toEqual([]);
    expect(error).toContain(`sent a page of more than the ${bound} bytes a page may take`);
    // Cut off near the bound (socket buffers hold a few chunks more), not read on and on.
    expect(sent).toBeLessThan(bound + 16 * 1024 * 1024);
  }, 30_000);

  it('refuses a finite body over the bound (valid JSON padded past it) instead of feeding it', async () => {
    const body = `{"raw_messages":[${JSON.stringify(message(1))}],"pages":1,"total":1}${' '.repeat(bound)}`;
    const h = await history((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(pages).toEqual([]);
    expect(error).toContain(`more than the ${bound} bytes a page may take`);
  });

  it('refuses a page whose Content-Length announces 10 GB, before reading it', async () => {
    const h = await history((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 ** 3) });
      res.write('{"raw_messages":[');
    });
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(pages).toEqual([]);
    expect(error).toContain(`announced a ${10 * 1024 ** 3}-byte page, more than the ${bound} bytes`);
  });

  it('reads only the start of a failed answer whose error body never ends', async () => {
    const h = await history((req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      const pump = () => {
        while (!res.destroyed && res.write('overloaded ')) {}
      };
      res.on('drain', pump);
      req.on('close', () => res.destroy());
      pump();
    });
    servers.push(h.server);
    const { error } = await firstFailure(h.url);
    expect(error).toMatch(/answered 503: overloaded overloaded/);
  }, 30_000);

  it('refuses a page holding more messages than rows_per_page asked for', async () => {
    const rows = Array.from({ length: 11 }, (_, i) => message(i));
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ raw_messages: rows, pages: 1, total: 11 })),
    );
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(pages).toEqual([]);
    expect(error).toBe('answer holds 11 messages, more than the rows_per_page=10 asked for');
  });
});
