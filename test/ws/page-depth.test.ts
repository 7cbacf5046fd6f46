import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { httpRows, RawClient, samplesBatch, sseAnswer, startLive, type Frame, type Live } from './harness.js';

const DEPTH = 100;
const IDENT = 'volume-1s';

describe('--max-page-depth: how deep a page may reach, for /api and live views alike', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ maxPageDepth: DEPTH });
    // One row per second: several hundred rows, far more than DEPTH.
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 5));
  });
  afterAll(() => live?.close());

  const api = (q: string) => fetch(`${live.base}/api/${IDENT}?${q}`);

  it('/api answers every page up to the depth, and 400 naming `page` past it, with rows_per_page as clamped', async () => {
    const deepest = await api('rows_per_page=10&page=10');
    expect(deepest.status).toBe(200);
    expect(((await deepest.json()) as unknown[]).length).toBe(10);
    expect(Number(deepest.headers.get('x-link-count'))).toBeGreaterThan(10);
    expect((await api('rows_per_page=1&page=100')).status).toBe(200);

    for (const q of ['rows_per_page=10&page=11', 'rows_per_page=1&page=101', 'rows_per_page=500&page=2']) {
      const res = await api(q);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { error: string; detail: string };
      expect(body.error).toBe('bad_parameter');
      expect(body.detail).toMatch(/^parameter "page"/);
      expect(body.detail).toContain('--max-page-depth');
      expect(body.detail).toContain('start/stop');
    }
    // Past the last page is still its own 400, within the depth.
    const past = await api('rows_per_page=10&page=2&start=9999999999');
    expect(past.status).toBe(400);
    expect(((await past.json()) as { detail: string }).detail).toContain('past the last page');
  });

  it('a WebSocket subscription is refused the same way, naming `page`; the deepest allowed page is served', async () => {
    const c = await RawClient.open(live.wsUrl);
    c.send({ op: 'subscribe', ident: IDENT, params: { page: 11, rows_per_page: 10 }, id: 'deep' });
    const refused = await c.next((f) => f['id'] === 'deep', 'answer to the deep subscription');
    expect(refused).toMatchObject({ type: 'error', error: 'bad_parameter', parameter: 'page' });
    expect(refused['detail']).toContain('--max-page-depth');

    c.send({ op: 'subscribe', ident: IDENT, params: { page: 10, rows_per_page: 10 }, id: 'ok' });
    const snap = (await c.next((f) => f['id'] === 'ok', 'answer to the allowed subscription')) as Extract<
      Frame,
      { type: 'snapshot' }
    >;
    expect(snap.type).toBe('snapshot');
    expect(snap.rows).toEqual(await httpRows(live.base, IDENT, 'page=10&rows_per_page=10'));
    expect(c.of('hello')[0]?.limits).toMatchObject({ maxPageDepth: DEPTH });
    c.close();
  });

  it('an SSE stream is refused with 400 bad_parameter', async () => {
    const res = await sseAnswer(`${live.base}/api/${IDENT}/stream?page=11&rows_per_page=10`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'bad_parameter' });
    expect((await sseAnswer(`${live.base}/api/${IDENT}/stream?page=10&rows_per_page=10`)).status).toBe(200);
  });

  it('settings: 10000 by default (the contract clients page at most 50 pages of 100), from the environment, never below one full page', () => {
    const base = { flags: { dataDir: '/nonexistent' } };
    expect(loadConfig(base).maxPageDepth).toBe(10_000);
    expect(loadConfig({ ...base, env: { STATSCACHE_MAX_PAGE_DEPTH: '2500' } }).maxPageDepth).toBe(2500);
    expect(() => loadConfig({ flags: { maxPageDepth: 99 } })).toThrow(/maxPageDepth/);
  });
});
