/**
 * A `400 bad_parameter` names the parameter in a `parameter` field on every route, as `/raw` and
 * the WebSocket's error frame did: `/api/<ident>` and its SSE stream had only the detail's text,
 * which a client had to parse to learn which of its inputs to fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, samplesBatch, sseAnswer, startLive, type Live } from '../ws/harness.js';

const DEPTH = 100;

type Refusal = { error: string; detail: string; parameter?: unknown };

// Each: the query, the plugin, and the parameter the refusal must name.
const CASES: ReadonlyArray<readonly [string, string, string]> = [
  ['rows_per_page=abc', 'volume-1s', 'rows_per_page'],
  ['limit=0', 'volume-1s', 'limit'],
  ['start=yesterday', 'volume-1s', 'start'],
  ['page=11&rows_per_page=10', 'volume-1s', 'page'],
  ['days=0&user=ralph', 'contribution-calendar-1d', 'days'],
  [`user=${'u'.repeat(300)}`, 'contribution-calendar-1d', 'user'],
];

describe('400 bad_parameter carries `parameter` on /api and SSE, as on /raw and the WebSocket', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ maxPageDepth: DEPTH });
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 5));
  });
  afterAll(() => live?.close());

  it('/api/<ident>, its SSE stream and a WebSocket subscription name the same parameter, the one the detail names', async () => {
    const c = await RawClient.open(live.wsUrl);
    const seen: Record<string, unknown>[] = [];
    for (const [i, [query, ident, parameter]] of CASES.entries()) {
      const api = await fetch(`${live.base}/api/${ident}?${query}`);
      const apiBody = (await api.json()) as Refusal;
      const sse = await sseAnswer(`${live.base}/api/${ident}/stream?${query}`);
      const sseBody = JSON.parse(sse.body) as Refusal;
      c.send({ op: 'subscribe', ident, params: Object.fromEntries(new URLSearchParams(query)), id: i });
      const frame = await c.next((f) => f['id'] === i, `answer to ${query.slice(0, 40)}`);
      seen.push({
        query,
        api: [api.status, apiBody.error, apiBody.parameter, apiBody.detail.startsWith(`parameter "${parameter}"`)],
        sse: [sse.status, sseBody.error, sseBody.parameter, sseBody.detail.startsWith(`parameter "${parameter}"`)],
        ws: [frame['error'], frame['parameter']],
      });
    }
    c.close();
    expect(seen).toEqual(
      CASES.map(([query, , parameter]) => ({
        query,
        api: [400, 'bad_parameter', parameter, true],
        sse: [400, 'bad_parameter', parameter, true],
        ws: ['bad_parameter', parameter],
      })),
    );
  });

  it('a page past the last one and a bad JSON-P callback name theirs too; other errors carry no parameter', async () => {
    const past = (await (
      await fetch(`${live.base}/api/volume-1s?rows_per_page=10&page=2&start=9999999999`)
    ).json()) as Refusal;
    expect(past).toMatchObject({ error: 'bad_parameter', parameter: 'page' });
    expect(past.detail).toContain('past the last page');
    for (const path of ['/api/', '/api/volume-1s', '/plugins']) {
      const res = await fetch(`${live.base}${path}?callback=alert(1)`);
      expect([path, res.status, await res.json()]).toMatchObject([
        path,
        400,
        { error: 'bad_parameter', parameter: 'callback' },
      ]);
    }
    const unknown = (await (await fetch(`${live.base}/api/no-such-plugin`)).json()) as Refusal;
    expect(unknown.error).toBe('unknown_ident');
    expect('parameter' in unknown).toBe(false);
  });

  it('the OpenAPI document gives the error body its optional `parameter`', async () => {
    const doc = (await (await fetch(`${live.base}/openapi.json`)).json()) as {
      components: { schemas: { Error: { properties: Record<string, unknown>; required?: string[] } } };
    };
    expect(doc.components.schemas.Error.properties).toHaveProperty('parameter');
    expect(doc.components.schemas.Error.required).not.toContain('parameter');
  });
});
