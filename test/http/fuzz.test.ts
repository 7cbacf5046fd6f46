import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { fedWithSamples, raw, serve, type Served } from './harness.js';
import { probePlugin } from './probe-plugin.js';

/** A seeded generator (mulberry32), so a failure replays exactly. */
function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}

const SEED = 20151104;
const REQUESTS = 3000;

describe('fuzzed requests never produce a 5xx', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve([...builtinPlugins(), probePlugin()]);
    await fedWithSamples(s);
  });
  afterAll(async () => s?.close());

  it(`${REQUESTS} seeded random requests (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const idents = s.service.host.idents;
    const params = [
      'order',
      'limit',
      'start',
      'stop',
      'page',
      'rows_per_page',
      'callback',
      '_',
      'category',
      'min_length',
      'x',
      '',
      'page[]',
      'ROWS_PER_PAGE',
    ];
    const randomText = () => {
      const alphabet = 'aZ09_-.$()[]{}<>"\'`;:/\\?#&=+ %~!*,é漢🙂\u0000\u2028';
      return Array.from({ length: r.int(12) }, () => r.pick([...alphabet])).join('');
    };
    const values = [
      () => String(r.int(5)),
      () => String(r.int(1e6) - 5e5),
      () => String(r.next() * 1e10),
      () => '99999999999999999999999',
      () => '1e309',
      () => '-0',
      () => 'NaN',
      () => '0x10',
      () => new Date(r.int(4e12)).toISOString(),
      () => '2015-02-30',
      () => '2015-11-04T10:00',
      () => 'asc',
      () => 'desc',
      () => 'jQuery123_456',
      () => 'a'.repeat(r.int(5000)),
      () => '',
      randomText,
    ];
    const paths = [
      () => '/',
      () => '/dashboard',
      () => '/plugins',
      () => '/openapi.json',
      () => '/healthz',
      () => '/readyz',
      () => '/metrics',
      () => '/api/',
      () => '/api',
      () => `/api/${r.pick(idents)}`,
      () => `/api/${r.pick(idents)}`,
      () => `/api/${r.pick(idents)}`,
      () => `/api/${r.pick(idents)}/layout`,
      () => `/api/${r.pick(idents)}/`,
      () => `/api/${encodeURIComponent(randomText())}`,
      () => `/api/${r.pick(idents)}/${encodeURIComponent(randomText())}`,
      () => `/${encodeURIComponent(randomText())}`,
      () => '/api/%E0%A4%A',
      () => '/api//volume-1m',
      () => '/api/../api/',
    ];
    const accepts = [
      '',
      '*/*',
      'application/json',
      'text/csv',
      'application/csv',
      'text/javascript, application/javascript, */*; q=0.01',
      'text/html',
      'application/xml;q=0.9',
      'text/*',
      '*/*;q=0',
      'application/json;q=abc',
      ';;;,,,',
      'text/csv;q=0.5, application/json;q=0.6',
    ];
    const methods = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE'];

    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let sent = 0;
    const one = async () => {
      const n = r.int(6);
      const query = Array.from({ length: n }, () => {
        const name = r.pick(params);
        const value = r.pick(values)();
        return r.next() < 0.1
          ? `${encodeURIComponent(name)}=%${r.pick(['zz', '4', '', 'E0%A4'])}`
          : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
      }).join('&');
      const path = r.pick(paths)();
      const method = r.pick(methods);
      const headers: Record<string, string> = { accept: r.pick(accepts) };
      if (r.next() < 0.3)
        headers['if-none-match'] = r.pick(['*', '"x"', 'W/"', '",', randomText().replace(/[^\x20-\x7e]/g, '')]);
      if (r.next() < 0.5) headers['accept-encoding'] = r.pick(['gzip', 'gzip;q=0', '*', 'br', 'gzip;q=x']);
      const target = `${s.base}${path}${query === '' ? '' : `?${query}`}`;
      let res: Awaited<ReturnType<typeof raw>>;
      try {
        res = await raw(target, { method, headers });
      } catch (err) {
        failures.push(
          `${method} ${target.slice(0, 300)} (${target.length} chars) ${JSON.stringify(headers)} → ${String(err)}`,
        );
        return;
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500)
        failures.push(
          `${method} ${target} ${JSON.stringify(headers)} → ${res.status} ${res.body.toString().slice(0, 200)}`,
        );
      else if (res.status >= 400 && method !== 'HEAD') {
        const body = JSON.parse(res.body.toString()) as { error?: unknown; detail?: unknown };
        if (typeof body.error !== 'string' || typeof body.detail !== 'string')
          failures.push(`${method} ${target}: error body ${res.body.toString().slice(0, 200)}`);
      }
    };
    // The generator is consumed in order, so the sequence is the seed's whatever the timing.
    const jobs = Array.from({ length: REQUESTS }, () => one);
    const workers = Array.from({ length: 12 }, async () => {
      while (sent < jobs.length) {
        const job = jobs[sent++];
        if (job) await job();
      }
    });
    await Promise.all(workers);
    expect(failures).toEqual([]);
    // The fuzz reached successes and every kind of client error.
    for (const code of [200, 304, 400, 404, 405, 406])
      expect(statuses.get(code) ?? 0, `status ${code}`).toBeGreaterThan(0);
  }, 120_000);
});
