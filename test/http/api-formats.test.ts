import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { fedWithSamples, serve, type Served } from './harness.js';
import { probePlugin } from './probe-plugin.js';
import { readFileSync } from 'node:fs';

const JQUERY_ACCEPT =
  'text/javascript, application/javascript, application/ecmascript, application/x-ecmascript, */*; q=0.01';
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Link, X-Link-Number, X-Link-Count',
};

type ErrorBody = { error: string; detail: string };

describe('formats, errors and CORS over the real server', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve([...builtinPlugins(), probePlugin()]);
    await fedWithSamples(s);
  });
  afterAll(async () => s?.close());

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${s.base}${path}`, { method, headers });
  const expectCors = (res: Response) => {
    for (const [k, v] of Object.entries(CORS)) expect(res.headers.get(k), k).toBe(v);
  };

  it('JSON for application/json, text/json, */* and no Accept at all', async () => {
    const bodies = [];
    for (const accept of [
      'application/json',
      'text/json',
      '*/*',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    ]) {
      const res = await get('/api/volume-1m?rows_per_page=5', { accept });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('vary')).toBe('Accept, Accept-Encoding');
      expectCors(res);
      bodies.push(await res.json());
    }
    expect(bodies[0]).toHaveLength(5);
    for (const b of bodies) expect(b).toEqual(bodies[0]);
  });

  it('JSON-P the way jQuery asks for it: ?callback=jQuery123_456&_=789 with a JavaScript Accept', async () => {
    const json = await (await get('/api/volume-1m', { accept: 'application/json' })).json();
    const res = await get('/api/volume-1m?callback=jQuery123_456&_=789', { accept: JQUERY_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    const text = await res.text();
    expect(text.startsWith('jQuery123_456([')).toBe(true);
    expect(text.endsWith('])')).toBe(true);
    // Evaluating it as a script hands the rows to the callback.
    let got: unknown;
    new Function('jQuery123_456', text)((rows: unknown) => (got = rows));
    expect(got).toEqual(json);
  });

  it('JSON-P for /api/ and the layout too, and the layout is the real releng layout', async () => {
    const idents = await get('/api/?callback=cb', { accept: 'text/javascript' });
    expect(await idents.text()).toBe(`cb(${JSON.stringify(s.service.host.idents)})`);
    expectCors(idents);
    const layout = await get('/api/layout-probe/layout?callback=jQuery1_2&_=3', { accept: JQUERY_ACCEPT });
    expect(layout.status).toBe(200);
    expectCors(layout);
    const want = JSON.parse(readFileSync(`${FIXTURES}releng-layout.json`, 'utf8'));
    let got: unknown;
    new Function('jQuery1_2', await layout.text())((v: unknown) => (got = v));
    expect(got).toEqual(want);
    expect(await (await get('/api/layout-probe/layout')).json()).toEqual(want);
  });

  it('a JavaScript Accept without callback gets plain JSON', async () => {
    const res = await get('/api/volume-1m', { accept: 'application/javascript' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Array.isArray(await res.json())).toBe(true);
  });

  it('CSV: header timestamp + sorted columns, quoted by a real CSV writer, same rows as JSON', async () => {
    for (const accept of ['text/csv', 'application/csv']) {
      const res = await get('/api/layout-probe', { accept });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const records = parse(await res.text()) as string[][];
      expect(records[0]).toEqual(['timestamp', 'category', 'note', 'topic']);
      const json = (await (await get('/api/layout-probe')).json()) as Record<string, unknown>[];
      expect(records.slice(1)).toEqual(json.map((r) => [String(r['timestamp']), r['category'], r['note'], r['topic']]));
      expect(json.some((r) => String(r['note']).includes('"') && String(r['note']).includes('\n'))).toBe(true);
    }
    const idents = await get('/api/', { accept: 'text/csv' });
    expect((await idents.text()).split('\n')).toEqual(s.service.host.idents);
  });

  it('a type refused with q=0 is not answered through a wildcard (the more specific range wins)', async () => {
    // Each was answered in the one format it refused.
    const cases: [string, string, number, string | null][] = [
      ['/api/volume-1m?rows_per_page=5', 'application/json;q=0, */*', 200, 'text/csv; charset=utf-8'],
      ['/api/volume-1m?rows_per_page=5', 'text/*, application/json;q=0', 200, 'text/csv; charset=utf-8'],
      [
        '/api/volume-1m?rows_per_page=5&callback=cb',
        'application/javascript;q=0, */*',
        200,
        'application/json; charset=utf-8',
      ],
      ['/api/volume-1m?rows_per_page=5', 'application/json;q=0, text/javascript', 406, null],
      ['/api/volume-1m?rows_per_page=5', 'application/json;q=0, application/*', 406, null],
      ['/plugins', 'application/json;q=0, */*', 406, null],
      // Refusing another format leaves JSON as it was.
      ['/api/volume-1m?rows_per_page=5', 'text/csv;q=0, */*', 200, 'application/json; charset=utf-8'],
    ];
    for (const [path, accept, status, type] of cases) {
      const res = await get(path, { accept });
      expect({ path, accept, status: res.status }).toEqual({ path, accept, status });
      if (type !== null) expect(res.headers.get('content-type'), `${path} ${accept}`).toBe(type);
      else expect(((await res.json()) as ErrorBody).error).toBe('not_acceptable');
    }
    const csv = await get('/api/volume-1m?rows_per_page=5', { accept: 'application/json;q=0, */*' });
    expect((await csv.text()).split('\n')[0]).toBe('timestamp,volume');
  });

  it('406 for anything else, and CSV of a layout', async () => {
    for (const [path, accept] of [
      ['/api/volume-1m', 'text/html'],
      ['/api/volume-1m', 'application/xml, image/png'],
      ['/api/', 'application/octet-stream'],
      ['/api/layout-probe/layout', 'text/csv'],
      ['/api/volume-1m', 'application/json;q=0'],
    ] as const) {
      const res = await get(path, { accept });
      expect(res.status, `${path} ${accept}`).toBe(406);
      expectCors(res);
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toBe('not_acceptable');
      expect(body.detail).toContain(accept);
    }
  });

  it('400 naming each bad parameter', async () => {
    const cases: [string, string][] = [
      ['rows_per_page=0', 'rows_per_page'],
      ['rows_per_page=abc', 'rows_per_page'],
      ['rows_per_page=-3', 'rows_per_page'],
      ['rows_per_page=2.5', 'rows_per_page'],
      ['page=0', 'page'],
      ['page=x', 'page'],
      ['page=99999999999999999999', 'page'],
      ['limit=0', 'limit'],
      ['limit=many', 'limit'],
      ['start=yesterday', 'start'],
      ['start=', 'start'],
      ['stop=2015-13-45', 'stop'],
      // Days Date.parse would roll into the next month (2015-03-02, 2015-05-01).
      ['start=2015-02-30', 'start'],
      ['stop=2015-04-31T10:00', 'stop'],
      ['start=2015-02-29', 'start'],
      ['stop=Infinity', 'stop'],
      ['start=0x10', 'start'],
      ['stop=0b11', 'stop'],
      ['callback=alert(1)//', 'callback'],
      ['callback=a%3Bb', 'callback'],
      ['callback=%3C%2Fscript%3E', 'callback'],
    ];
    for (const [query, param] of cases) {
      const res = await get(`/api/volume-1m?${query}`);
      expect(res.status, query).toBe(400);
      expectCors(res);
      const body = (await res.json()) as ErrorBody;
      expect(body.error, query).toBe('bad_parameter');
      expect(body.detail, query).toContain(`"${param}"`);
    }
    // A real leap day is a date.
    expect((await get('/api/volume-1m?start=2016-02-29&stop=2016-02-29T23:59:59')).status).toBe(200);
  });

  it('plugin parameters are validated and applied', async () => {
    const rows = (await (await get('/api/layout-probe?category=bodhi')).json()) as { category: string }[];
    expect(rows.length).toBe(1);
    expect(rows[0]?.category).toBe('bodhi');
    const long = (await (await get('/api/layout-probe?min_length=40')).json()) as { topic: string }[];
    expect(long.every((r) => r.topic.length >= 40)).toBe(true);
    for (const q of ['min_length=0', 'min_length=ten']) {
      const res = await get(`/api/layout-probe?${q}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).detail).toContain('"min_length"');
    }
  });

  it('JSON-P callbacks that could inject script are refused everywhere', async () => {
    for (const path of ['/api/?', '/api/volume-1m?', '/api/layout-probe/layout?', '/plugins?']) {
      const res = await get(`${path}callback=${encodeURIComponent('alert(1)//')}`, { accept: JQUERY_ACCEPT });
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(((await res.json()) as ErrorBody).detail).toContain('"callback"');
    }
  });

  it('404 for unknown idents, unknown routes and plugins without a layout; JSON bodies', async () => {
    for (const [path, code] of [
      ['/api/no-such-plugin', 'unknown_ident'],
      ['/api/%E0%A4%A', 'unknown_ident'],
      ['/api/volume-1m/nope', 'not_found'],
      ['/api/volume-1m/layout', 'no_layout'],
      ['/nope', 'not_found'],
      ['/api/volume-1m/layout/x', 'not_found'],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as ErrorBody).error, path).toBe(code);
    }
  });

  it('405 for other methods, with Allow; CORS preflight answered', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await get('/api/volume-1m', {}, method);
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expectCors(res);
      expect(((await res.json()) as ErrorBody).error).toBe('method_not_allowed');
    }
    const pre = await get(
      '/api/volume-1m',
      {
        origin: 'http://dashboard.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match',
      },
      'OPTIONS',
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-none-match');
  });

  it('CORS on every API answer, success or error', async () => {
    for (const path of [
      '/api/',
      '/api/volume-1m',
      '/api/layout-probe/layout',
      '/api/volume-1m/layout',
      '/api/nope',
      '/plugins',
      '/openapi.json',
    ]) {
      expectCors(await get(path));
    }
  });
});
