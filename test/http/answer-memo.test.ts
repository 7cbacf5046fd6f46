import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { volume } from '../../plugins/volume.js';
import { AnswerMemo } from '../../src/http/answer-memo.js';
import { CACHE_MAX_BYTES, EncodedCache } from '../../src/http/encoded-cache.js';
import { pluginParamsSchema } from '../../src/http/query-params.js';
import type { HttpResponse } from '../../src/http/responses.js';
import { MEMO_MAX_BYTES, MEMO_REQUEST_MAX, rows as rowsRoute, type RouteContext } from '../../src/http/view-routes.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

describe('AnswerMemo', () => {
  it('keeps at most maxEntries answers, then starts over', () => {
    const memo = new AnswerMemo<{ n: number }>(3);
    for (let n = 0; n < 3; n++) memo.set(`k${n}`, { n });
    expect(memo.get('k2')).toEqual({ n: 2 });
    memo.set('k3', { n: 3 });
    expect(memo.size).toBe(1);
    expect(memo.get('k0')).toBeUndefined();
    expect(memo.get('k3')).toEqual({ n: 3 });
  });
});

describe('AnswerMemo bytes', () => {
  it('lets the oldest answers go to stay within maxBytes, and keeps none heavier than it', () => {
    const memo = new AnswerMemo<{ n: number }>(100, 10, (v) => v.n);
    memo.set('a', { n: 4 });
    memo.set('b', { n: 4 });
    expect(memo.totalBytes).toBe(8);
    memo.set('c', { n: 4 });
    expect(memo.get('a')).toBeUndefined();
    expect(memo.get('b')).toEqual({ n: 4 });
    expect(memo.get('c')).toEqual({ n: 4 });
    expect(memo.totalBytes).toBe(8);
    // Replacing a key counts its new weight only.
    memo.set('c', { n: 6 });
    expect(memo.totalBytes).toBe(10);
    expect(memo.get('b')).toEqual({ n: 4 });
    expect(memo.set('d', { n: 11 })).toEqual({ n: 11 });
    expect(memo.get('d')).toBeUndefined();
    expect(memo.totalBytes).toBe(10);
  });
});

describe('AnswerMemo.recent', () => {
  it('answers only when every part of the key is the same again, per owner', () => {
    const memo = new AnswerMemo<{ n: number }>();
    const a = {};
    const b = {};
    expect(memo.recent(a, [1, 'x'])).toBeUndefined();
    memo.remember(a, [1, 'x'], { n: 1 });
    expect(memo.recent(a, [1, 'x'])).toEqual({ n: 1 });
    expect(memo.recent(b, [1, 'x'])).toBeUndefined();
    expect(memo.recent(a, [2, 'x'])).toBeUndefined();
    expect(memo.recent(a, [1, 'y'])).toBeUndefined();
    expect(memo.recent(a, [1, 'x', ''])).toBeUndefined();
    expect(memo.recent(a, ['1', 'x'])).toBeUndefined();
    memo.remember(a, [2, 'x'], { n: 2 });
    expect(memo.recent(a, [1, 'x'])).toBeUndefined();
    expect(memo.recent(a, [2, 'x'])).toEqual({ n: 2 });
  });
});

describe('memoised /api answers over the real server', () => {
  const start = 1_900_000_000_000;
  const clock = new ManualClock(start);
  const dir = tempDir('statscache-memo-');
  let service: Service;
  let base = '';
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = await Service.build({ config, logger: createLogger('silent'), clock });
    await service.start();
    base = `http://127.0.0.1:${service.server?.port ?? 0}`;
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  const hits = async () =>
    Number(/^statscache_http_cache_hits_total (\d+)$/m.exec(await service.metrics.refresh())?.[1]);
  const rows = async () => (await (await fetch(`${base}/api/volume-1m`)).json()) as { volume: number }[];

  it('a repeated read is served from the memo, and both a new state and a later "now" change it', async () => {
    // Two minutes ahead of "now", within the clock skew: its row is in the default view at once.
    service.accept({ topic: 'org.fedoraproject.prod.a.b', timestamp: start / 1000 + 120, msg_id: 'm1', msg: {} });
    await service.settled();
    expect((await rows()).map((r) => r.volume)).toEqual([1]);
    const before = await hits();
    expect((await rows()).map((r) => r.volume)).toEqual([1]);
    expect(await hits()).toBe(before + 1);

    // A later second (the default stop moved) answers the same rows.
    clock.advance(200_000);
    expect((await rows()).map((r) => r.volume)).toEqual([1]);

    service.accept({ topic: 'org.fedoraproject.prod.a.b', timestamp: start / 1000 + 121, msg_id: 'm2', msg: {} });
    await service.settled();
    expect((await rows()).map((r) => r.volume)).toEqual([2]);
  });
});

describe('what the /api memo keeps', () => {
  it('answers a request longer than MEMO_REQUEST_MAX without keeping it: a client cannot fill the memo with 100 KB keys', () => {
    const host = new PluginHost(registerPlugins([volume('1m')]), () => {});
    const rt = host.get('volume-1m')!;
    const ctx: RouteContext = {
      host,
      cache: new EncodedCache(),
      nowSeconds: () => 1_900_000_000,
      schemas: new Map([[rt.ident, pluginParamsSchema(rt.plugin)]]),
      maxPageDepth: 10_000,
      answers: new AnswerMemo<HttpResponse>(),
    };
    const get = (query: string) =>
      rowsRoute({ method: 'GET', path: '/api/volume-1m', query, header: () => '' }, rt, ctx);
    const plain = get('rows_per_page=10');
    expect(plain.status).toBe(200);
    expect(ctx.answers?.size).toBe(1);
    // A parameter no route reads, made new each time: before the bound, every one was kept.
    for (let i = 0; i < 50; i++) {
      ctx.memoised = null;
      const long = get(`rows_per_page=10&_=${i}${'x'.repeat(MEMO_REQUEST_MAX)}`);
      expect(long.status).toBe(200);
      expect(long.body).toEqual(plain.body);
      expect(ctx.memoised).toBeNull();
    }
    expect(ctx.answers?.size).toBe(1);
    // Just under the bound: kept as before.
    get(`rows_per_page=10&_=${'y'.repeat(MEMO_REQUEST_MAX - 100)}`);
    expect(ctx.answers?.size).toBe(2);
  });
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('memory the /api memo holds, over the real server', () => {
  const start = 1_900_000_000_000;
  const dir = tempDir('statscache-memo-bytes-');
  let service: Service;
  let base = '';
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = await Service.build({ config, logger: createLogger('silent'), clock: new ManualClock(start) });
    await service.start();
    base = `http://127.0.0.1:${service.server?.port ?? 0}`;
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it('stays bounded in bytes when every request is new: the bodies the cache let go are not kept alive', async () => {
    // Topics are the publisher's choice: 100 of them, each escaped six-fold in JSON, make a 144 KB page.
    for (let n = 0; n < 100; n++)
      service.accept({
        topic: `org.fedoraproject.prod.t${n}.${'\u0001'.repeat(220)}`,
        timestamp: start / 1000 - 100 + n,
        msg_id: `m${n}`,
        msg: {},
      });
    await service.settled();
    const page = (i: number) =>
      fetch(`${base}/api/latest-event-per-topic?rows_per_page=100&start=${i}`, {
        headers: { 'accept-encoding': 'identity' },
      });
    const first = await page(1);
    const size = (await first.arrayBuffer()).byteLength;
    expect(size).toBeGreaterThan(140_000);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    // Each `start` is a new memo key and a new cache key, the same rows: one client, no auth.
    const REQUESTS = 600;
    for (let i = 2; i < REQUESTS + 2; i++) {
      const res = await page(i);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    gc();
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    // Before the byte bound: every answer kept (600 × 144 KB = 86 MB) behind the cache's 32 MB.
    // Now: the cache's 32 MB plus at most MEMO_MAX_BYTES (8 MB) more.
    expect(grown, `${(grown / 1e6).toFixed(1)} MB held after ${REQUESTS} pages of ${size} bytes`).toBeLessThan(
      64 * 1024 * 1024,
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    const memo = Number(/^statscache_http_memo_bytes (\d+)$/m.exec(text)?.[1]);
    expect(memo).toBeGreaterThan(size);
    expect(memo).toBeLessThanOrEqual(MEMO_MAX_BYTES);
    // The encoded-body cache, filled by the same requests, holds its own bound.
    const cached = Number(/^statscache_http_cache_bytes (\d+)$/m.exec(text)?.[1]);
    expect(cached).toBeGreaterThan(CACHE_MAX_BYTES / 2);
    expect(cached).toBeLessThanOrEqual(CACHE_MAX_BYTES);
  }, 60_000);
});
