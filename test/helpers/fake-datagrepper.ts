import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TimeOrdered } from './time-ordered.js';

export type Stored = Record<string, unknown> & { topic: string; timestamp: number };

/**
 * A datagrepper-compatible `/raw` for tests: the outside world we cannot reach. Serves what
 * it holds by time window with `order`, `page` and `rows_per_page`, as datagrepper.md says,
 * and can be told to fail requests to exercise retries.
 */
export class FakeDatagrepper {
  /** What the history holds: append to it (push), never rewrite it; pages are read from an index of it by time. */
  readonly messages: Stored[] = [];
  requests = 0;
  /** The time window of every answered request (start, end as asked or defaulted). */
  readonly windows: { start: number; end: number }[] = [];
  /** `/v2/search` rows this returns in the legacy envelope form instead (datagrepper mixes nothing, but parsers must detect). */
  v2Legacy: (m: Stored, index: number) => boolean = () => false;
  /** While set, every request is answered with page 1, whatever `page=` asks (its `arguments` still echo the page asked). */
  ignoresPage = false;
  /** Fail this many of the next requests with a 503. */
  failNext = 0;
  /** While set, requests are answered only once it resolves (a slow history, held by the test). */
  hold: Promise<void> | null = null;
  /** Leave this many of the next requests unanswered for good (a history that hangs: only the client's timeout ends them). */
  stallNext = 0;
  /** Requests left unanswered so far (stallNext). */
  stalled = 0;
  /** The `rows_per_page` of every request, as asked (null: not asked). */
  readonly rowsPerPageAsked: (string | null)[] = [];
  private server: Server | null = null;
  private readonly ordered = new TimeOrdered(this.messages);
  url = '';
  /** The same server's `/v2/search` (fedora-messaging's history API), as `--datagrepper` is given it. */
  get searchUrl(): string {
    return this.url.replace(/\/raw$/, '/v2/search');
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      this.requests++;
      if (this.hold) await this.hold;
      const u = new URL(req.url ?? '/', 'http://x');
      this.rowsPerPageAsked.push(u.searchParams.get('rows_per_page'));
      if (this.stallNext > 0) {
        this.stallNext--;
        this.stalled++;
        return;
      }
      if (this.failNext > 0) {
        this.failNext--;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"overloaded"}');
        return;
      }
      const v2 = u.pathname === '/v2/search' || u.pathname === '/v2/search/';
      if (u.pathname !== '/raw' && u.pathname !== '/raw/' && !v2) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      const num = (k: string) => (u.searchParams.has(k) ? Number(u.searchParams.get(k)) : undefined);
      const end = num('end') ?? Date.now() / 1000;
      const start = num('start') ?? end - 600;
      this.windows.push({ start, end });
      // As statscache's /raw (and datagrepper.md: a bad parameter is a 400) answers it.
      if (end < start) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ error: 'bad_parameter', detail: `parameter "end" (${end}) is before start (${start})` }),
          );
        return;
      }
      const rowsPerPage = Math.min(num('rows_per_page') ?? 25, 100);
      const page = num('page') ?? 1;
      const asc = u.searchParams.get('order') === 'asc';
      const { total, rows } = this.page(start, end, asc, this.ignoresPage ? 1 : page, rowsPerPage);
      const pages = Math.ceil(total / rowsPerPage);
      const legacy = (m: Stored) => ({
        ...m,
        timestamp: m.timestamp + 0.0,
        source_name: 'datanommer',
        source_version: '0.9',
      });
      const slice = rows.map((m, i) => (v2 && !this.v2Legacy(m, i) ? serialized(m) : legacy(m)));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          raw_messages: slice,
          total,
          pages,
          count: slice.length,
          arguments: { start, end, page, rows_per_page: rowsPerPage, order: asc ? 'asc' : 'desc' },
        }),
      );
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/raw`;
    return this;
  }

  /** One page of the window, oldest or newest first (a stable sort by timestamp: ties in push order). */
  private page(
    start: number,
    end: number,
    asc: boolean,
    page: number,
    rowsPerPage: number,
  ): { total: number; rows: Stored[] } {
    const offset = (page - 1) * rowsPerPage;
    if (Number.isInteger(page) && page >= 1 && Number.isInteger(rowsPerPage) && rowsPerPage >= 1) {
      const found = this.ordered.window(start, end, asc, offset, rowsPerPage);
      if (found) return found;
    }
    // Paging no real client asks for, or timestamps that are not numbers: filter and sort it all.
    const hits = this.messages
      .filter((m) => m.timestamp >= start && m.timestamp <= end)
      .sort((a, b) => (asc ? a.timestamp - b.timestamp : b.timestamp - a.timestamp));
    return { total: hits.length, rows: hits.slice(offset, page * rowsPerPage) };
  }

  close(): Promise<void> {
    // A stalled request's socket, if its client has not given up on it, would hold the close.
    if (this.stalled > 0) this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** fedora-messaging's serialized form, as datagrepper's `/v2/search` returns it. */
export function serialized(m: Stored): Record<string, unknown> {
  const headers = {
    ...((m['headers'] as Record<string, unknown> | undefined) ?? {}),
    'sent-at': new Date(Math.floor(m.timestamp) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
  };
  return { topic: m.topic, body: m['msg'], headers, id: m['msg_id'], priority: 0, queue: null };
}
