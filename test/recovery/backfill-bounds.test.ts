import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type BackfillPage,
  backfillPages,
  MAX_RETRY_AFTER_MS,
  pageByteBound,
  retryAfterMs,
} from '../../src/backfill.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { freePort } from '../helpers/free-port.js';
import { readAll as readAllAt } from '../helpers/backfill-read-all.js';
import { serversClosedAfterEach } from '../helpers/closed-after-each.js';

/** A history that answers every request with `handler`: the hostile or broken outside world. */
async function history(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/raw`, server };
}

const now = 1_800_000_000;
const servers = serversClosedAfterEach();

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

  it('counts a compressed page by what it inflates to: a gzip bomb is cut off at the bound', async () => {
    // fetch asks for gzip and inflates it: the few KB on the wire (and a Content-Length of
    // that) say nothing of the 16 MiB the body becomes.
    const inflated = Buffer.concat([Buffer.from('{"raw_messages":['), Buffer.alloc(16 * 1024 * 1024, 0x20)]);
    const bomb = gzipSync(inflated);
    expect(bomb.byteLength).toBeLessThan(bound / 10);
    const h = await history((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': String(bomb.byteLength),
        })
        .end(bomb),
    );
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(pages).toEqual([]);
    expect(error).toContain(`sent a page of more than the ${bound} bytes a page may take`);
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

/** The whole window read from `url` at this file's `now` (test/helpers/backfill-read-all.ts). */
const readAll = (url: string, rowsPerPage: number, maxPages?: number) => readAllAt(url, rowsPerPage, now, maxPages);

/** A history holding `held` messages whose answers say what `lie` makes of the true paging. */
async function paging(
  held: number,
  lie: (truth: { page: number; pages: number; rows: unknown[]; rowsPerPage: number }) => Record<string, unknown>,
) {
  const h = await history((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const page = Number(u.searchParams.get('page'));
    const rowsPerPage = Number(u.searchParams.get('rows_per_page'));
    const rows = Array.from({ length: held }, (_, i) => message(i)).slice((page - 1) * rowsPerPage, page * rowsPerPage);
    const answer = lie({ page, pages: Math.ceil(held / rowsPerPage), rows, rowsPerPage });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  servers.push(h.server);
  return h.url;
}

describe('backfill: paging a history that lies about it', () => {
  it('stops at an empty page when the announced page count keeps growing', async () => {
    const url = await paging(0, ({ page, rows }) => ({ raw_messages: rows, pages: page + 1, total: 10 ** 9 }));
    const r = await readAll(url, 10);
    expect(r.requests).toBe(1);
    expect(r.cutShort).toEqual(['page 1 was empty (2 pages announced)']);
  });

  it('stops when a page repeats the one before (the page parameter ignored), after feeding it once', async () => {
    const url = await paging(5, ({ rows }) => ({
      raw_messages: rows.length > 0 ? rows : [message(0)],
      pages: 10 ** 7,
    }));
    // Every page is page 1 (five rows), whatever page= asks.
    const same = await paging(5, () => ({
      raw_messages: [0, 1, 2, 3, 4].map(message),
      pages: 10 ** 7,
      total: 10 ** 9,
    }));
    const r = await readAll(same, 5);
    expect(r.ids).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    expect(r.requests).toBe(2);
    expect(r.cutShort).toEqual(['page 2 repeats page 1: the history ignores page=']);
    // A short page is the last whatever is announced.
    const short = await readAll(url, 10);
    expect(short.ids).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    expect(short.cutShort).toEqual(['page 1 held 5 of 10 rows, so it is the last (10000000 pages announced)']);
  });

  it('stops when a page repeats the one before though its end rows are invalid', async () => {
    // A page's first and last rows nested past --max-message-depth: the repeat went unseen (an
    // invalid end gave no identity to compare) and the same page was read 100,000 times.
    const deep = (depth: number): unknown => (depth === 0 ? {} : { a: deep(depth - 1) });
    const fake = await new FakeDatagrepper().start();
    const invalid = await new FakeDatagrepper().start();
    try {
      fake.ignoresPage = true;
      invalid.ignoresPage = true;
      fake.messages.push(
        ...Array.from({ length: 10 }, (_, i) => ({
          ...message(i),
          ...(i === 0 || i === 9 ? { msg: deep(200) } : {}),
        })),
        // Past the first page: a history that pages would serve these next.
        ...Array.from({ length: 10 }, (_, i) => message(10 + i)),
      );
      const r = await readAll(fake.url, 10, 50);
      expect(r.ids).toEqual(Array.from({ length: 8 }, (_, i) => `id-${i + 1}`));
      expect(r.cutShort).toEqual(['page 2 repeats page 1: the history ignores page=']);
      expect(r.requests).toBe(2);
      // Every row invalid: the repeat is still seen.
      invalid.messages.push(...Array.from({ length: 20 }, (_, i) => ({ ...message(i), msg: deep(200) })));
      const all = await readAll(invalid.url, 10, 50);
      expect({ ids: all.ids, cutShort: all.cutShort, requests: all.requests }).toEqual({
        ids: [],
        cutShort: ['page 2 repeats page 1: the history ignores page='],
        requests: 2,
      });
    } finally {
      await Promise.all([fake.close(), invalid.close()]);
    }
  });

  it('reads past a page count announced too low while pages come full, and says nothing when it was right', async () => {
    const low = await paging(25, ({ rows }) => ({ raw_messages: rows, pages: 1, total: 3 }));
    const r = await readAll(low, 10);
    expect(r.ids).toEqual(Array.from({ length: 25 }, (_, i) => `id-${i}`));
    expect(r.cutShort).toEqual([]);
    const exact = await paging(20, ({ rows, pages }) => ({ raw_messages: rows, pages, total: 20 }));
    const e = await readAll(exact, 10);
    expect(e.ids).toHaveLength(20);
    // The last page was full: one more request finds it empty.
    expect(e.requests).toBe(3);
    expect(e.cutShort).toEqual([]);
  });

  it('pages by the smaller rows_per_page an answer says it used', async () => {
    // A history that serves 4 rows a page whatever is asked, and says so.
    const url = await paging(12, ({ page }) => ({
      raw_messages: Array.from({ length: 12 }, (_, i) => message(i)).slice((page - 1) * 4, page * 4),
      pages: 3,
      total: 12,
      arguments: { page, rows_per_page: 4 },
    }));
    const r = await readAll(url, 10);
    expect(r.ids).toEqual(Array.from({ length: 12 }, (_, i) => `id-${i}`));
    expect(r.cutShort).toEqual([]);
  });

  it('stops after the most pages one window is read for, when every page is full of new messages', async () => {
    let n = 0;
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ raw_messages: [message(n++), message(n++)], pages: 10 ** 9, total: 2 * 10 ** 9 })),
    );
    servers.push(h.server);
    const r = await readAll(h.url, 2, 50);
    expect(r.requests).toBe(50);
    expect(r.ids).toHaveLength(100);
    expect(r.cutShort).toEqual(['stopped after 50 pages, the most one window is read for']);
  });
});

describe('backfill: a history whose window shrinks while it is paged (a statscache peer trimming its journal)', () => {
  /** Serves `held` by offset paging, as a peer's /raw does, and drops the oldest `trim` after answering page `after`. */
  async function trimming(count: number, after: number, trim: number, withTotal = true) {
    const held = Array.from({ length: count }, (_, i) => message(i));
    const asked: number[] = [];
    const h = await history((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const page = Number(u.searchParams.get('page'));
      const rowsPerPage = Number(u.searchParams.get('rows_per_page'));
      asked.push(page);
      const rows = held.slice((page - 1) * rowsPerPage, page * rowsPerPage);
      const answer = {
        raw_messages: rows,
        pages: Math.ceil(held.length / rowsPerPage),
        ...(withTotal ? { total: held.length } : {}),
      };
      // Once, as a trim would: the second answer for that page trims nothing.
      if (page === after && asked.filter((p) => p === after).length === 1) held.splice(0, trim);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    servers.push(h.server);
    return { url: h.url, asked };
  }

  it('steps back over the messages that moved, so none still held is skipped', async () => {
    const t = await trimming(50, 2, 15);
    const r = await readAll(t.url, 10);
    // Before: ids 20-34 moved into pages already read and were never fetched (35 of 50).
    expect(new Set(r.ids)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `id-${i}`)));
    // Page 3 saw 15 fewer: back to page 1 of the new numbering, which starts at id-15.
    expect(t.asked).toEqual([1, 2, 3, 1, 2, 3, 4]);
    expect(r.cutShort).toEqual([]);
  });

  it('steps back from a short or empty last page too', async () => {
    // 35 held; after page 3 the oldest 10 go: page 4 (offsets 30-39 of 25) is empty, ids 30-34 unread.
    const empty = await trimming(35, 3, 10);
    const e = await readAll(empty.url, 10);
    expect(new Set(e.ids)).toEqual(new Set(Array.from({ length: 35 }, (_, i) => `id-${i}`)));
    expect(empty.asked).toEqual([1, 2, 3, 4, 3]);
    // 38 held; after page 3 the oldest 5 go: page 4 holds ids 35-37 only, ids 30-34 unread.
    const short = await trimming(38, 3, 5);
    const s = await readAll(short.url, 10);
    expect(new Set(s.ids)).toEqual(new Set(Array.from({ length: 38 }, (_, i) => `id-${i}`)));
    expect(s.cutShort).toEqual([]);
  });

  it('does not step back on an answer without a total (whose valid rows may vary)', async () => {
    const t = await trimming(30, 99, 0, false);
    const r = await readAll(t.url, 10);
    expect(r.ids).toHaveLength(30);
    expect(t.asked).toEqual([1, 2, 3, 4]);
  });
});

/** The error of `url`'s first failed request, as backfillPages tells its retry (then stopped). */
const errorOf = async (url: string, requestTimeoutMs = 120_000): Promise<string> => {
  const abort = new AbortController();
  let error = '';
  try {
    for await (const _ of backfillPages(
      { start: now - 60, end: now },
      {
        url,
        nowSeconds: () => now,
        signal: abort.signal,
        requestTimeoutMs,
        sleep: async () => {},
        onRetry: (info) => {
          error = info.error;
          abort.abort();
        },
      },
    ));
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  return error;
};

describe('backfill: a failed request names its cause', () => {
  it('a refused connection, a redirect loop, a redirect to file: and a stall after the headers', async () => {
    const port = await freePort();
    const h = await history((req, res) => {
      if (req.url?.startsWith('/raw/loop')) res.writeHead(302, { location: req.url }).end();
      else if (req.url?.startsWith('/raw/file')) res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).write('{"raw_messages":[');
    });
    servers.push(h.server);
    expect(await errorOf(`http://127.0.0.1:${port}/raw`)).toMatch(
      new RegExp(`^GET http://127.0.0.1:${port}/raw\\?.* failed: fetch failed: connect ECONNREFUSED`),
    );
    expect(await errorOf(`${h.url}/loop`)).toMatch(/failed: fetch failed: redirect count exceeded$/);
    expect(await errorOf(`${h.url}/file`)).toMatch(/failed: fetch failed: URL scheme must be a HTTP\(S\) scheme$/);
    // The stall: headers, then nothing (a short timeout, as the test cannot wait 30 s).
    expect(await errorOf(h.url, 300)).toMatch(/gave no complete answer within 300 ms$/);
  });

  it('a body trickled a byte at a time (never idle) is cut off at the request timeout, not read for as long as it trickles', async () => {
    // Slow loris: a timeout reset by every byte (an idle timeout) would wait for ever here.
    const h = await history((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).write('{"raw_messages":[');
      const drip = setInterval(() => res.write(' '), 20);
      res.once('close', () => clearInterval(drip));
    });
    servers.push(h.server);
    expect(await errorOf(h.url, 300)).toMatch(/gave no complete answer within 300 ms$/);
  });
});

describe("backfill: a history's Retry-After", () => {
  it('is waited for, within bounds: never less than the back-off, never more than MAX_RETRY_AFTER_MS', async () => {
    const answers = ['7', '0', '-5', '99999999', 'soon', new Date((now + 20) * 1000).toUTCString(), '1.5'];
    let n = 0;
    const h = await history((_req, res) => {
      const retryAfter = answers[n++];
      if (retryAfter === undefined)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"raw_messages":[],"pages":0,"total":0}');
      else res.writeHead(n % 2 ? 429 : 503, { 'retry-after': retryAfter }).end('{"error":"slow down"}');
    });
    servers.push(h.server);
    const waits: number[] = [];
    const errors: string[] = [];
    for await (const _ of backfillPages(
      { start: now - 60, end: now },
      {
        url: h.url,
        nowSeconds: () => now,
        initialDelayMs: 100,
        maxDelayMs: 100,
        sleep: async (ms) => void waits.push(ms),
        onRetry: (info) => void errors.push(info.error),
      },
    ));
    expect(waits).toEqual([7_000, 100, 100, MAX_RETRY_AFTER_MS, 100, 20_000, 100]);
    expect(errors[0]).toMatch(/answered 429 \(Retry-After: 7\): \{"error":"slow down"\}$/);
    expect(retryAfterMs(null, 0)).toBeNull();
  });
});

describe("backfill: a retry's back-off when the backfill is aborted (the service stops)", () => {
  it("ends at once, the default timer's 300 s Retry-After included: a stop waited it out, past --stop-timeout", async () => {
    const h = await history((_req, res) => void res.writeHead(503, { 'retry-after': '300' }).end('{"error":"down"}'));
    servers.push(h.server);
    const stop = new AbortController();
    const waiting: string[] = [];
    const pages = backfillPages(
      { start: now - 60, end: now },
      {
        url: h.url,
        nowSeconds: () => now,
        signal: stop.signal,
        // Told before the back-off begins: the abort comes on the next turn, into the wait.
        onRetry: (info) => {
          waiting.push(info.error);
          setImmediate(() => stop.abort());
        },
      },
    );
    await expect(pages.next()).rejects.toThrow(/abort/i);
    expect(waiting).toHaveLength(1);
  });
});

describe('backfill: archived messages that lack their time', () => {
  it('are counted invalid, not dated at the time of reading (which re-counted them on every backfill without a msg_id)', async () => {
    const rows = [
      { topic: 'org.fedoraproject.prod.x.y', msg: { n: 1 } },
      { topic: 'org.fedoraproject.prod.x.y', msg_id: 'has-id', msg: { n: 2 } },
      { topic: 'org.fedoraproject.prod.x.y', msg_id: 'dated', timestamp: now - 5, msg: { n: 3 } },
    ];
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ raw_messages: rows, pages: 1, total: 3 })),
    );
    servers.push(h.server);
    const pages: BackfillPage[] = [];
    for await (const page of backfillPages({ start: now - 60, end: now }, { url: h.url, nowSeconds: () => now }))
      pages.push(page);
    expect(pages.map((p) => [p.envelopes.map((e) => e.msg_id), p.invalid])).toEqual([[['dated'], 2]]);
  });
});

describe('backfill: one archived message over --max-frame-bytes', () => {
  it('is counted invalid, as the bus refuses it, while the rest of its page is taken in', async () => {
    // Only the page was bounded: a 50 MB body or a 900 KB msg_id came in from the history.
    const rows = [message(1), { ...message(2), msg: { text: 'é'.repeat(600) } }, message(3)];
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ raw_messages: rows, pages: 1, total: 3 })),
    );
    servers.push(h.server);
    const read = async (maxFrameBytes: number) => {
      const pages: BackfillPage[] = [];
      for await (const page of backfillPages(
        { start: now - 60, end: now },
        {
          url: h.url,
          nowSeconds: () => now,
          limits: { maxDepth: 64, maxKeys: 100_000, maxClockSkew: 300, maxFrameBytes },
        },
      ))
        pages.push(page);
      return pages.map((p) => [p.envelopes.map((e) => e.msg_id), p.invalid]);
    };
    // 600 two-byte characters: 1,200 bytes of text, over 1,024 in UTF-8 though 600 units in JSON.
    expect(await read(1024)).toEqual([[['id-1', 'id-3'], 1]]);
    expect(await read(2048)).toEqual([[['id-1', 'id-2', 'id-3'], 0]]);
  });
});

describe('backfill: a /v2/search row with a field nested past what can be measured', () => {
  it('is counted invalid, and its page is taken in once, not retried for ever', async () => {
    const v2 = (id: string, extra?: string) =>
      `{"topic":"org.fedoraproject.prod.x.y","id":"${id}","body":{"n":1},"headers":{"sent-at":"${new Date((now - 5) * 1000).toISOString()}"}${extra === undefined ? '' : `,"extra":${extra}`}}`;
    // Only body and headers become the envelope, whose depth is checked; measuring the whole
    // row for --max-frame-bytes stringified this and overflowed the stack: the page failed, and
    // a failed page is retried until it succeeds, so the window (and every later one) stalled.
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(`{"raw_messages":[${v2('good-1')},${v2('deep', deep)},${v2('good-2')}],"pages":1,"total":3}`),
    );
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url, 10, 256 * 1024);
    expect(error).toBe('');
    expect(pages.map((p) => [p.envelopes.map((e) => e.msg_id), p.invalid])).toEqual([[['good-1', 'good-2'], 1]]);
  });
});

describe('backfill: a /v2/search row whose sent-at is an ISO time past year 5138', () => {
  it('is counted invalid, not taken for epoch milliseconds and dated in the 1970s', async () => {
    const v2 = (id: string, sentAt: string) =>
      `{"topic":"org.fedoraproject.prod.x.y","id":"${id}","body":{"n":1},"headers":{"sent-at":"${sentAt}"}}`;
    const h = await history((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          `{"raw_messages":[${v2('good', new Date((now - 5) * 1000).toISOString())},${v2('never', '9999-12-31T00:00:00Z')}],"pages":1,"total":2}`,
        ),
    );
    servers.push(h.server);
    const { pages, error } = await firstFailure(h.url);
    expect(error).toBe('');
    expect(pages.map((p) => [p.envelopes.map((e) => [e.msg_id, e.timestamp]), p.invalid])).toEqual([
      [[['good', now - 5]], 1],
    ]);
  });
});
