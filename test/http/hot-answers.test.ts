import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHandler } from '../../src/http/api-routes.js';
import { type HotAnswer, HotAnswers } from '../../src/http/hot-answer.js';
import type { HttpRequest } from '../../src/http/responses.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

/** One raw HTTP/1.1 exchange over its own connection. */
function exchange(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new Promise<{ status: string; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      const [status = '', ...rest] = raw.subarray(0, end).toString('latin1').split('\r\n');
      resolve({
        status,
        headers: Object.fromEntries(rest.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])),
        body: raw.subarray(end + 4),
      });
    });
  });
}

const answer = (path: string, fresh: () => boolean, over: Partial<HotAnswer> = {}): HotAnswer => ({
  method: 'GET',
  path,
  query: '',
  accept: '',
  acceptEncoding: '',
  ifNoneMatch: '',
  response: { status: 200, headers: {}, body: path },
  fresh,
  served: () => {},
  ...over,
});
const key = { method: 'GET', query: '', accept: '', acceptEncoding: '', ifNoneMatch: '' };

describe('HotAnswers', () => {
  it('matches the same request only, and only while fresh', () => {
    const hot = new HotAnswers();
    let fresh = true;
    const a = answer('/api/a', () => fresh);
    hot.offer(a);
    expect(hot.holds('/api/a')).toBe(true);
    expect(hot.holds('/api/b')).toBe(false);
    expect(hot.match('/api/a', key)).toBe(a);
    for (const other of [
      { ...key, method: 'HEAD' },
      { ...key, query: 'x=1' },
      { ...key, accept: 'text/csv' },
      { ...key, acceptEncoding: 'gzip' },
      { ...key, ifNoneMatch: '"e"' },
    ])
      expect(hot.match('/api/a', other)).toBeUndefined();
    fresh = false;
    expect(hot.match('/api/a', key)).toBeUndefined();
  });

  it('replaces the answer to the same request, and the oldest when full', () => {
    const hot = new HotAnswers(2);
    const a1 = answer('/api/a', () => true);
    const a2 = answer('/api/a', () => true);
    hot.offer(a1);
    hot.offer(a2);
    expect(hot.match('/api/a', key)).toBe(a2);
    hot.offer(answer('/api/b', () => true));
    hot.offer(answer('/api/c', () => true));
    // Two slots: a went first.
    expect(hot.holds('/api/a')).toBe(false);
    expect(hot.holds('/api/b')).toBe(true);
    expect(hot.holds('/api/c')).toBe(true);
  });
});

describe('hot answers on the wire', () => {
  const start = 1_900_000_000_000;
  const clock = new ManualClock(start);
  const dir = tempDir('statscache-hot-');
  let service: Service;
  let port = 0;
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = Service.build({ config, logger: createLogger('silent'), clock });
    await service.start();
    port = service.server?.port ?? 0;
    for (let i = 0; i < 30; i++)
      service.accept({
        topic: `org.fedoraproject.prod.cat${i % 5}.thing`,
        timestamp: start / 1000 - 7 * i,
        msg_id: `h${i}`,
        msg: {},
      });
    await service.settled();
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  /** What a handler of its own (no memo, no hot answers) renders for the same request now. */
  const rendered = (path: string, query: string, headers: Record<string, string> = {}, method = 'GET') =>
    createHttpHandler({
      host: service.host,
      nowSeconds: () => clock.now() / 1000,
      notReadyReason: () => null,
      health: () => ({}),
    })({ method, path, query, header: (n) => headers[n] ?? '' } satisfies HttpRequest);

  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return Number(line?.slice(line.lastIndexOf(' ') + 1) ?? Number.NaN);
  };

  it('requests for one view that differ in method, query or negotiation, interleaved, each get their own answer', async () => {
    const path = '/api/volume-by-category-1s';
    const etag = (await exchange(port, `${path}?rows_per_page=20`)).headers['ETag'] ?? '';
    expect(etag).not.toBe('');
    const variants: { query: string; headers: Record<string, string>; method?: string }[] = [
      { query: 'rows_per_page=20', headers: {} },
      { query: 'rows_per_page=20', headers: { 'accept-encoding': 'gzip' } },
      { query: 'rows_per_page=20', headers: { 'if-none-match': etag } },
      { query: 'rows_per_page=20', headers: { accept: 'text/csv' } },
      { query: 'rows_per_page=20', headers: {}, method: 'HEAD' },
      { query: 'rows_per_page=2', headers: {} },
      { query: 'rows_per_page=20&callback=cb', headers: {} },
    ];
    // The gzip variant is one: the body is over the size worth compressing.
    expect(rendered(path, variants[1]?.query ?? '', variants[1]?.headers).headers['Content-Encoding']).toBe('gzip');
    for (let round = 0; round < 3; round++) {
      for (const v of variants) {
        const got = await exchange(port, `${path}?${v.query}`, v.headers, v.method);
        const want = rendered(path, v.query, v.headers, v.method);
        expect(got.status.slice(9, 12)).toBe(String(want.status));
        for (const [k, value] of Object.entries(want.headers)) expect(got.headers[k]).toBe(value);
        const body = Buffer.from(want.body);
        if (v.method === 'HEAD') expect(got.body.length).toBe(0);
        else if (want.headers['Content-Encoding'] === 'gzip') {
          expect(got.headers['Content-Encoding']).toBe('gzip');
          expect(gunzipSync(got.body).equals(gunzipSync(body))).toBe(true);
        } else expect(got.body.equals(body)).toBe(true);
      }
    }
  });

  it('a later second is a new answer even when the plugin has not changed', async () => {
    const url = '/api/volume-1s';
    // A message ahead of "now": counted, but past the default stop until the clock gets there.
    service.accept({
      topic: 'org.fedoraproject.prod.ahead.thing',
      timestamp: start / 1000 + 5,
      msg_id: 'ahead',
      msg: {},
    });
    await service.settled();
    // Its 1 s bucket ends a second later.
    const row = `"timestamp":${start / 1000 + 6},`;
    const before = await exchange(port, url);
    expect((await exchange(port, url)).body.equals(before.body)).toBe(true);
    expect(before.body.toString()).not.toContain(row);
    clock.advance(6_000);
    const after = await exchange(port, url);
    expect(after.body.toString()).toContain(row);
    expect(after.body.equals(Buffer.from(rendered(url, '').body))).toBe(true);
  });

  it('each answer given again counts as a request and as a cache hit', async () => {
    const url = '/api/volume-by-category-1m?rows_per_page=7';
    await exchange(port, url);
    const requests = () => metric('statscache_http_requests_total{route="/api/:ident",method="GET",status="200"}');
    const before = { requests: await requests(), hits: await metric('statscache_http_cache_hits_total') };
    for (let i = 0; i < 12; i++) await exchange(port, url);
    expect(await requests()).toBe(before.requests + 12);
    expect(await metric('statscache_http_cache_hits_total')).toBe(before.hits + 12);
    // HEAD after GET of the same view: counted as HEAD, not given the GET's answer.
    const heads = () => metric('statscache_http_requests_total{route="/api/:ident",method="HEAD",status="200"}');
    const headsBefore = (await heads()) || 0;
    for (let i = 0; i < 5; i++) await exchange(port, url, {}, 'HEAD');
    expect(await heads()).toBe(headsBefore + 5);
    expect(await requests()).toBe(before.requests + 12);
  });
});
