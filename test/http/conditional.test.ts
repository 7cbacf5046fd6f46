import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsGzip, ifNoneMatchHits } from '../../src/http/conditional.js';
import { eventually } from '../helpers/service-process.js';
import { feed, fedWithSamples, raw, serve, type Served } from './harness.js';

describe('ETag, 304, gzip and HEAD over the real server', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
    await fedWithSamples(s);
  });
  afterAll(async () => s?.close());

  const url = (path: string) => `${s.base}${path}`;
  const gzipCount = async () =>
    Number(/^statscache_http_gzip_total (\d+)$/m.exec(await s.service.metrics.refresh())?.[1]);

  it('every API answer has an ETag, and If-None-Match gives 304 (strong, weak, lists, *)', async () => {
    for (const path of ['/api/', '/api/volume-1m?rows_per_page=7', '/plugins', '/openapi.json', '/', '/dashboard']) {
      const first = await raw(url(path));
      expect(first.status, path).toBe(200);
      const etag = first.headers['etag'] as string;
      expect(etag, path).toMatch(/^"[\w-]+"$/);
      for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, `W/"x",W/${etag}`, '*']) {
        const again = await raw(url(path), { headers: { 'if-none-match': inm } });
        expect(again.status, `${path} ${inm}`).toBe(304);
        expect(again.body.length).toBe(0);
        expect(again.headers['etag']).toBe(etag);
      }
      const miss = await raw(url(path), { headers: { 'if-none-match': '"something-else", W/"other"' } });
      expect(miss.status).toBe(200);
      expect(miss.body.equals(first.body)).toBe(true);
    }
  });

  it('the ETag differs by format and query, and changes when the plugin gets new messages', async () => {
    const json = await raw(url('/api/volume-1m'));
    const csv = await raw(url('/api/volume-1m'), { headers: { accept: 'text/csv' } });
    const small = await raw(url('/api/volume-1m?rows_per_page=2'));
    const tags = [json, csv, small].map((r) => r.headers['etag']);
    expect(new Set(tags).size).toBe(3);
    // Same answer asked differently (ignored param, repeated) keeps its ETag.
    const same = await raw(url('/api/volume-1m?_=123&foo=bar'));
    expect(same.headers['etag']).toBe(json.headers['etag']);

    await s.publish(feed().slice(0, 20));
    const changed = await eventually(
      async () => {
        const r = await raw(url('/api/volume-1m'), { headers: { 'if-none-match': json.headers['etag'] as string } });
        return r.status === 200 ? r : undefined;
      },
      10_000,
      'ETag to change after new messages',
    );
    expect(changed.headers['etag']).not.toBe(json.headers['etag']);
    expect(changed.body.equals(json.body)).toBe(false);
  });

  it('gzip when accepted: the bytes decompress to the identity body; compressed once per cached answer', async () => {
    const path = '/api/volume-by-category-1s?rows_per_page=100';
    const plain = await raw(url(path), { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const before = await gzipCount();
    const zipped = await raw(url(path), { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept, Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.headers['etag']).not.toBe(plain.headers['etag']);
    expect(await gzipCount()).toBe(before + 1);
    // A hot read is served from the cache: no second compression.
    for (let i = 0; i < 5; i++) {
      const again = await raw(url(path), { headers: { 'accept-encoding': 'gzip' } });
      expect(again.body.equals(zipped.body)).toBe(true);
    }
    expect(await gzipCount()).toBe(before + 1);
    // Either representation's tag revalidates.
    expect(
      (
        await raw(url(path), {
          headers: { 'accept-encoding': 'gzip', 'if-none-match': plain.headers['etag'] as string },
        })
      ).status,
    ).toBe(304);
    expect((await raw(url(path), { headers: { 'if-none-match': zipped.headers['etag'] as string } })).status).toBe(304);
    // q=0 refuses gzip.
    expect(
      (await raw(url(path), { headers: { 'accept-encoding': 'gzip;q=0, *' } })).headers['content-encoding'],
    ).toBeUndefined();
  });

  it('HEAD answers the same status and headers as GET, without a body', async () => {
    for (const path of [
      '/api/volume-1m?rows_per_page=3',
      '/api/',
      '/plugins',
      '/',
      '/api/nope',
      '/api/volume-1m?page=0',
    ]) {
      const get = await raw(url(path), { headers: { 'accept-encoding': 'identity' } });
      const head = await raw(url(path), { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
      expect(head.status, path).toBe(get.status);
      expect(head.body.length).toBe(0);
      for (const h of ['etag', 'content-type', 'x-link-count', 'link'])
        expect(head.headers[h], `${path} ${h}`).toEqual(get.headers[h]);
    }
  });
});

describe('validator and encoding rules', () => {
  it('If-None-Match uses weak comparison and ignores junk', () => {
    expect(ifNoneMatchHits('"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('W/"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('"abc-gz"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits(' "x" , "abc" ', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('*', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('abc', '"abc"')).toBe(false);
    expect(ifNoneMatchHits('"ab"', '"abc"')).toBe(false);
    expect(ifNoneMatchHits('', '"abc"')).toBe(false);
    expect(ifNoneMatchHits('",,,', '"abc"')).toBe(false);
  });
  it('Accept-Encoding honours q-values and *', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0')).toBe(false);
    expect(acceptsGzip('gzip;q=0, *')).toBe(false);
    expect(acceptsGzip('')).toBe(false);
    expect(acceptsGzip('br, deflate')).toBe(false);
  });
});
