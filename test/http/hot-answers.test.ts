import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type HotAnswer, HotAnswers } from '../../src/http/hot-answer.js';
import { exchange as exchangePairs, serviceOnManualClock, spreadMessages } from './wire-harness.js';

/** A raw exchange with its headers by name (each name appears once in these answers). */
const exchange = async (port: number, path: string, headers: Record<string, string> = {}, method = 'GET') => {
  const got = await exchangePairs(port, path, headers, method);
  return { ...got, headers: Object.fromEntries(got.headers) };
};

const answer = (path: string, fresh: () => boolean): HotAnswer => ({
  method: 'GET',
  path,
  query: '',
  accept: '',
  acceptEncoding: '',
  ifNoneMatch: '',
  response: { status: 200, headers: {}, body: path },
  fresh,
  served: () => {},
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
  const wire = serviceOnManualClock(start, spreadMessages(30, 5, 7, 'h'));
  const { clock, rendered } = wire;

  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${wire.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return Number(line?.slice(line.lastIndexOf(' ') + 1) ?? Number.NaN);
  };

  it('requests for one view that differ in method, query or negotiation, interleaved, each get their own answer', async () => {
    const path = '/api/volume-by-category-1s';
    const etag = (await exchange(wire.port, `${path}?rows_per_page=20`)).headers['ETag'] ?? '';
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
        const got = await exchange(wire.port, `${path}?${v.query}`, v.headers, v.method);
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
    // A message ahead of "now", within the clock skew: counted, and in the default view at once.
    wire.service.accept({
      topic: 'org.fedoraproject.prod.ahead.thing',
      timestamp: start / 1000 + 5,
      msg_id: 'ahead',
      msg: {},
    });
    await wire.service.settled();
    // Its 1 s bucket ends a second later.
    const row = `"timestamp":${start / 1000 + 6},`;
    const before = await exchange(wire.port, url);
    expect((await exchange(wire.port, url)).body.equals(before.body)).toBe(true);
    expect(before.body.toString()).toContain(row);
    // The hot answer was made for its second: the next second's is made again, equal to a fresh rendering.
    clock.advance(6_000);
    const after = await exchange(wire.port, url);
    expect(after.body.toString()).toContain(row);
    expect(after.body.equals(Buffer.from(rendered(url, '').body))).toBe(true);
  });

  it('each answer given again counts as a request and as a cache hit', async () => {
    const url = '/api/volume-by-category-1m?rows_per_page=7';
    await exchange(wire.port, url);
    const requests = () => metric('statscache_http_requests_total{route="/api/:ident",method="GET",status="200"}');
    const before = { requests: await requests(), hits: await metric('statscache_http_cache_hits_total') };
    for (let i = 0; i < 12; i++) await exchange(wire.port, url);
    expect(await requests()).toBe(before.requests + 12);
    expect(await metric('statscache_http_cache_hits_total')).toBe(before.hits + 12);
    // HEAD after GET of the same view: counted as HEAD, not given the GET's answer.
    const heads = () => metric('statscache_http_requests_total{route="/api/:ident",method="HEAD",status="200"}');
    const headsBefore = (await heads()) || 0;
    for (let i = 0; i < 5; i++) await exchange(wire.port, url, {}, 'HEAD');
    expect(await heads()).toBe(headsBefore + 5);
    expect(await requests()).toBe(before.requests + 12);
  });
});
