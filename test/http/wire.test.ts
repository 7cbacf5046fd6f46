import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../src/http/responses.js';
import { matchRoute } from '../../src/http/route-pattern.js';
import { wireOf } from '../../src/http/wire-head.js';
import { exchange, serviceOnManualClock, spreadMessages } from './wire-harness.js';

/** What the route handler answers, as (name, value) pairs in order, for comparison with the wire. */
const headerPairs = (r: HttpResponse) => Object.entries(r.headers);
/** The wire's headers without the ones uWS adds itself on every answer. */
const ours = (hs: [string, string][]) =>
  hs.filter(([k]) => !['date', 'content-length', 'uwebsockets'].includes(k.toLowerCase()));

describe('answers on the wire: one pre-built head per answer', () => {
  const start = 1_900_000_000_000;
  const wire = serviceOnManualClock(start, spreadMessages(40, 7, 60, 'w'));
  const { rendered } = wire;

  it('a memoised answer goes out byte for byte as the rendered one: status, every header in order, body', async () => {
    const path = '/api/volume-by-category-1m';
    const query = 'rows_per_page=5&page=2';
    const first = await exchange(wire.port, `${path}?${query}`);
    const second = await exchange(wire.port, `${path}?${query}`);
    const expected = rendered(path, query);
    for (const got of [first, second]) {
      expect(got.status).toBe('HTTP/1.1 200 OK');
      expect(ours(got.headers)).toEqual(headerPairs(expected));
      expect(got.body.equals(Buffer.from(expected.body))).toBe(true);
    }
    // The paging headers are there, and uWS still adds a correct length after the pre-built head.
    expect(Object.fromEntries(first.headers)['Link']).toContain('rel="next"');
    expect(Number(Object.fromEntries(first.headers)['Content-Length'])).toBe(first.body.length);
  });

  it('gzip, 304 and JSON-P answers are the rendered ones too', async () => {
    const path = '/api/volume-by-category-1m';
    const gz = await exchange(wire.port, `${path}?rows_per_page=40`, { 'Accept-Encoding': 'gzip' });
    const gzAgain = await exchange(wire.port, `${path}?rows_per_page=40`, { 'Accept-Encoding': 'gzip' });
    const expected = rendered(path, 'rows_per_page=40', { 'accept-encoding': 'gzip' });
    expect(expected.headers['Content-Encoding']).toBe('gzip');
    for (const got of [gz, gzAgain]) {
      expect(ours(got.headers)).toEqual(headerPairs(expected));
      expect(gunzipSync(got.body).equals(gunzipSync(Buffer.from(expected.body)))).toBe(true);
    }
    const etag = Object.fromEntries(gz.headers)['ETag'] ?? '';
    const notModified = await exchange(wire.port, `${path}?rows_per_page=40`, { 'If-None-Match': etag });
    expect(notModified.status).toBe('HTTP/1.1 304 Not Modified');
    expect(ours(notModified.headers)).toEqual(
      headerPairs(rendered(path, 'rows_per_page=40', { 'if-none-match': etag })),
    );
    // No content, so no Content-Length (RFC 9110 8.6: on a 304 it may only be the 200's length).
    expect(notModified.headers.map(([k]) => k.toLowerCase())).not.toContain('content-length');
    expect(notModified.body.length).toBe(0);
    const preflight = await exchange(wire.port, path, { Origin: 'https://example.org' }, 'OPTIONS');
    expect(preflight.status).toBe('HTTP/1.1 204 No Content');
    expect(preflight.headers.map(([k]) => k.toLowerCase())).not.toContain('content-length');
    const jsonp = await exchange(wire.port, `${path}?callback=cb&rows_per_page=3`);
    expect(jsonp.body.toString().startsWith('cb(')).toBe(true);
    expect(ours(jsonp.headers)).toEqual(headerPairs(rendered(path, 'callback=cb&rows_per_page=3')));
  });

  it('a new state of the plugin is a new answer: new bytes, new ETag', async () => {
    const url = '/api/volume-by-category-1m?rows_per_page=100';
    const before = await exchange(wire.port, url);
    expect((await exchange(wire.port, url)).body.equals(before.body)).toBe(true);
    wire.service.accept({
      topic: 'org.fedoraproject.prod.newcat.thing',
      timestamp: start / 1000,
      msg_id: 'w-new',
      msg: {},
    });
    await wire.service.settled();
    const after = await exchange(wire.port, url);
    expect(after.body.equals(before.body)).toBe(false);
    expect(after.body.toString()).toContain('newcat');
    expect(Object.fromEntries(after.headers)['ETag']).not.toBe(Object.fromEntries(before.headers)['ETag']);
    expect(ours(after.headers)).toEqual(headerPairs(rendered('/api/volume-by-category-1m', 'rows_per_page=100')));
  });

  it('methods reach the routes in upper case: HEAD answers without a body, DELETE is refused naming it', async () => {
    const head = await exchange(wire.port, '/api/volume-1m', {}, 'HEAD');
    expect(head.status).toBe('HTTP/1.1 200 OK');
    expect(head.body.length).toBe(0);
    const refused = await exchange(wire.port, '/api/volume-1m', {}, 'DELETE');
    expect(refused.status).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(JSON.parse(refused.body.toString()).detail).toContain('"DELETE"');
    // uWS itself drops a request line whose method is not upper case, before any route: the
    // adapter's conversion of another spelling (upperMethod) is only a guard should that change.
    for (const method of ['get', 'Head'])
      expect((await exchange(wire.port, '/api/volume-1m', {}, method)).status).toBe('');
  });

  it('idents read in turn each get their own view, also after an unknown one', async () => {
    const views = ['/api/volume-1m', '/api/volume-by-category-1m', '/api/nope', '/api/volume-1m', '/api/nope'];
    for (const path of [...views, ...views.reverse()]) {
      const got = await exchange(wire.port, path);
      const alone = rendered(path, '');
      expect(got.status.slice('HTTP/1.1 '.length, 'HTTP/1.1 '.length + 3)).toBe(String(alone.status));
      expect(got.body.toString()).toBe(Buffer.from(alone.body).toString());
    }
  });

  it('counts every request exactly, and invented methods fold into one bounded "other" series', async () => {
    const count = async () => {
      // Over HTTP: /metrics renders when scraped (no timer), so it already counts the requests just made.
      const text = await (await fetch(`http://127.0.0.1:${wire.port}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('statscache_http_requests_total{'));
      const of = (labels: string) => {
        const line = series.find((l) => l.includes(labels));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      return { series, of };
    };
    const before = await count();
    const gets = before.of('route="/api/:ident",method="GET",status="200"');
    for (let i = 0; i < 25; i++) await exchange(wire.port, '/api/volume-1m');
    const after = await count();
    expect(after.of('route="/api/:ident",method="GET",status="200"')).toBe(gets + 25);
    expect(after.of('route="/metrics",method="GET",status="200"')).toBe(
      before.of('route="/metrics",method="GET",status="200"') + 1,
    );
    // Many distinct invented methods: each is counted, none gets a series of its own.
    for (let i = 0; i < 600; i++) wire.service.metrics.countRequest('unmatched', `M${i}`, 404);
    const invented = await count();
    expect(invented.of('route="unmatched",method="other",status="404"')).toBe(
      after.of('route="unmatched",method="other",status="404"') + 600,
    );
    // One new series (`other`), whatever the number of invented methods.
    expect(invented.series.length).toBe(after.series.length + 1);
    expect(invented.series.some((l) => /method="M\d/.test(l))).toBe(false);
    const head = await fetch(`http://127.0.0.1:${wire.port}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).not.toBeNull();
  });
});

describe('wireOf', () => {
  it('joins status and headers into one head, in order', () => {
    const w = wireOf({ status: 404, headers: { A: '1', 'B-C': 'x y' }, body: '' });
    expect(w.head.toString()).toBe('404 Not Found\r\nA: 1\r\nB-C: x y');
    expect(w.headers).toBeNull();
  });

  it('writes header by header when a name or value holds a line break', () => {
    for (const headers of [{ A: '1\r\nEvil: yes' }, { 'A\nB': '1' }] as Record<string, string>[]) {
      const w = wireOf({ status: 200, headers, body: '' });
      expect(w.head.toString()).toBe('200 OK');
      expect(w.headers).toEqual(Object.entries(headers));
    }
  });
});

describe('matchRoute', () => {
  it('the plain-ident fast path agrees with the general one', () => {
    expect(matchRoute('/api/volume-1m')).toEqual({ pattern: '/api/:ident', ident: 'volume-1m' });
    expect(matchRoute('/api/volume-1m/')).toEqual({ pattern: '/api/:ident', ident: 'volume-1m' });
    expect(matchRoute('/api/vol%75me')).toEqual({ pattern: '/api/:ident', ident: 'volume' });
    expect(matchRoute('/api/%E0%A4%A')).toEqual({ pattern: '/api/:ident', ident: '%E0%A4%A' });
    expect(matchRoute('/api/')).toEqual({ pattern: '/api/' });
    expect(matchRoute('/api//')).toEqual({ pattern: 'unmatched' });
    expect(matchRoute('/api/x/layout')).toEqual({ pattern: '/api/:ident/layout', ident: 'x' });
    expect(matchRoute('/api/x/y/z')).toEqual({ pattern: 'unmatched' });
  });
});
