import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { builtinPlugins } from '../../plugins/index.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { eventually, type Frame, perCategory, RawClient, samplesBatch, startLive, type Live } from '../ws/harness.js';
import { probePlugin } from './probe-plugin.js';
import { mustRefuse } from './schema-oracle.js';
import { type Outcome, timedExchange } from './timed-exchange.js';

/**
 * Every parameter of every route the service documents, each given hostile values, over HTTP,
 * WebSocket subscriptions and SSE streams: never a 5xx, never a request left without an
 * answer, every 4xx a JSON error (a 400 naming the parameter at fault), every bound that exists
 * enforced with a clear refusal, and the process answering /healthz afterwards.
 */
const SEED = 20261204;
const ADMIN = 'hostile-params-admin-token';
/** Longer than this without an answer is a hung request. */
const DEADLINE_MS = 5_000;
/** Well under the filtered /raw gate (2 running + 8 waiting), so no answer is a load refusal. */
const CONCURRENCY = 8;
const FRAME_BYTES = 4096;
const MAX_SUBSCRIPTIONS = 4;
const FRAMES_PER_SECOND = 400;
const CONNECTIONS_PER_IP = 12;
/** Values of HOSTILE beyond ALWAYS each parameter gets, drawn per parameter by the seed (so each value meets several parameters). */
const SAMPLED = 8;

/** A value as it goes into the query string: encoded, or (`raw`) exactly as written. */
type Value = { readonly text: string; readonly raw?: true };
const enc = (text: string): Value => ({ text });
const raw = (text: string): Value => ({ text, raw: true });
const HOSTILE: readonly Value[] = [
  ...[
    '',
    ' ',
    '\t\n',
    '0',
    '-1',
    '-0',
    '99999999999999999999999',
    '9007199254740993',
    '999999999999999',
    '2147483648',
    '4294967296',
    '1e309',
    '-1e309',
    '1e-400',
    'NaN',
    'Infinity',
    '-Infinity',
    '0x10',
    '0b11',
    '1_000',
    '+5',
    '.5',
    ' 5 ',
    '١٢',
    'é漢🙂',
    '\u0000',
    '\u2028\u202e',
    'true',
    '[]',
    '{"$gt":1}',
    '__proto__',
    'constructor',
    '2015-02-30',
    '9999-99-99',
    '275760-09-14',
    '2015-11-04T10:00:00+99:99',
    'a'.repeat(3000),
  ].map(enc),
  raw('%zz'),
  raw('%'),
  raw('%E0%A4%A'),
  raw('%00'),
  raw('%FF%FE'),
  raw('%ED%A0%80'),
  // Long, but within what uWS reads of a request head: the routes answer it.
  raw('a'.repeat(100_000)),
];

/**
 * Past uWS's limit on a request head (between 100 KB and 1 MB in 20.30): uWS closes the
 * connection at once, before any route sees it. A prompt close is the bound at work; a hang is not.
 */
const PAST_HEAD_LIMIT = 1_000_000;

/** Given to every parameter; the rest of HOSTILE is sampled per parameter (seeded), to keep the sweep fast. */
const ALWAYS = new Set([
  '',
  ' ',
  '-1',
  '1e309',
  'NaN',
  '2015-02-30',
  '%zz',
  '%',
  '%E0%A4%A',
  'a'.repeat(3000),
  'a'.repeat(100_000),
]);

/**
 * Requests uWS 20.30 neither routes nor refuses: HTTP/1.0, a target not starting with "/"
 * (asterisk and absolute form), more than about 47 header lines, a header line without a colon
 * or with a control byte, an obsolete line fold. It answers nothing and closes them after its
 * own 10 s timeout, before any route runs, so no handler of this service can answer them; what
 * the service guarantees is that they hold up nothing else (checked while they are pending).
 */
const UNANSWERED_BY_UWS = [
  'GET * HTTP/1.1',
  'OPTIONS * HTTP/1.1',
  'GET http://127.0.0.1/healthz HTTP/1.1',
  'GET /healthz HTTP/1.0',
  `GET /api/volume-1m HTTP/1.1\r\n${Array.from({ length: 60 }, (_, i) => `X-H${i}: ${i}`).join('\r\n')}`,
  'GET /api/volume-1m HTTP/1.1\r\nX-Bad\u0000: x',
  'GET /api/volume-1m HTTP/1.1\r\nno colon here',
  'GET /api/volume-1m HTTP/1.1\r\nX-Fold: a\r\n folded',
  'GET /api/volume-1m HTTP/1.1\r\nAccept: \u00ff\u0001',
];

/** The value as the server reads it from the query string. */
const decoded = (v: Value): string => (v.raw ? (new URLSearchParams(`v=${v.text}`).get('v') ?? '') : v.text);

const query = (name: string, v: Value) => `${encodeURIComponent(name)}=${v.raw ? v.text : encodeURIComponent(v.text)}`;

type Json = Record<string, unknown>;

/** One hostile request and what the answer must show. */
interface Probe {
  readonly head: string;
  /** The one parameter at fault when the answer is a 400, or null when none is. */
  readonly param: string | null;
  /**
   * uWS's parser refuses the request itself (an unknown method, a head past its limit) by
   * closing the connection: no route runs, so no JSON can be written. Closing at once is
   * allowed; a hang, a 5xx or a non-JSON 4xx still are not.
   */
  readonly refusedByParser?: true;
  /** The value is one the parameter's documented schema cannot allow (schema-oracle.ts): a 2xx or 3xx is a bad parameter taken. */
  readonly refuse?: boolean;
}

/** Whether `o` keeps the contract; the failure as text when not. */
function judge(probe: Probe, o: Outcome): string | null {
  const what = `${probe.head.slice(0, 160)}${probe.head.length > 160 ? `… (${probe.head.length} chars)` : ''}`;
  if (o.kind === 'hung') return `${what}: no answer within ${DEADLINE_MS} ms`;
  if (o.kind === 'closed')
    return probe.refusedByParser ? null : `${what}: connection closed without an answer (${o.bytes} bytes)`;
  if (!Number.isInteger(o.status) || o.status < 200) return `${what}: status ${o.status}`;
  if (o.status >= 500) return `${what}: ${o.status} ${o.body.toString().slice(0, 200)}`;
  if (o.status < 400 && probe.refuse) return `${what}: ${o.status} for a value its schema does not allow`;
  if (o.status < 400 || probe.head.startsWith('HEAD ')) return null;
  let body: Json;
  try {
    body = JSON.parse(o.body.toString()) as Json;
  } catch {
    return `${what}: ${o.status} body is not JSON: ${JSON.stringify(o.body.toString().slice(0, 120))}`;
  }
  if (typeof body['error'] !== 'string' || typeof body['detail'] !== 'string')
    return `${what}: ${o.status} body without error and detail: ${o.body.toString().slice(0, 200)}`;
  if (o.status === 400 && probe.param !== null) {
    const named = body['parameter'] === probe.param || (body['detail'] as string).includes(`"${probe.param}"`);
    if (!named) return `${what}: 400 does not name "${probe.param}": ${body['detail'] as string}`;
  }
  return null;
}

/** Runs the probes CONCURRENCY at a time (in order, so the seed's sequence is the same whatever the timing). */
async function runAll(
  port: number,
  probes: readonly Probe[],
): Promise<{ failures: string[]; statuses: Map<number, number> }> {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const probe = probes[next++] as Probe;
      const o = await timedExchange(port, `${probe.head}\r\nHost: 127.0.0.1`, DEADLINE_MS);
      if (o.kind === 'answer') statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      const failure = judge(probe, o);
      if (failure !== null) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { failures, statuses };
}

/** Route → the query parameters it documents and their schemas, read from the service's own OpenAPI document. */
async function documentedRoutes(base: string): Promise<Map<string, Map<string, Json>>> {
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: Json[] }>>;
    components: { parameters: Record<string, Json> };
  };
  const resolve = (p: Json): Json =>
    typeof p['$ref'] === 'string' ? (doc.components.parameters[(p['$ref'] as string).split('/').pop() ?? ''] ?? {}) : p;
  const routes = new Map<string, Map<string, Json>>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    const params = new Map<string, Json>();
    for (const op of Object.values(ops))
      for (const p of (op.parameters ?? []).map(resolve))
        if (p['in'] === 'query') params.set(String(p['name']), (p['schema'] ?? {}) as Json);
    routes.set(path, params);
  }
  return routes;
}

const health = async (live: Live) => (await fetch(`${live.base}/healthz`)).status;

describe(`hostile input (seed ${SEED})`, () => {
  let live: Live;
  let routes: Map<string, Map<string, Json>>;
  const paramsOf = (path: string): string[] => [...(routes.get(path)?.keys() ?? [])];
  /** Whether `value`, as the server reads it, is one `param` of `path` must refuse by its schema. */
  const schemaRefuses = (path: string, param: string, value: string): boolean =>
    mustRefuse(routes.get(path)?.get(param) ?? {}, value);
  /** Parameters of each plugin's view, `/plugins` scope `plugin`. */
  let own: Map<string, string[]>;
  const r = mulberry32(SEED);
  const pick = <T>(xs: readonly T[], n: number): T[] => {
    const pool = [...xs];
    return Array.from(
      { length: Math.min(n, pool.length) },
      () => pool.splice(Math.floor(r() * pool.length), 1)[0] as T,
    );
  };
  /** The values one parameter is given: the ones every parser must survive, and a seeded few of the rest. */
  const valuesFor = (): Value[] => [
    ...HOSTILE.filter((v) => ALWAYS.has(v.text)),
    ...pick(
      HOSTILE.filter((v) => !ALWAYS.has(v.text)),
      SAMPLED,
    ),
  ];
  /** Polls `done` every few milliseconds (a stream's close reaches the hub within a turn or two). */
  const settled = async (done: () => boolean, what: string) => {
    for (const deadline = Date.now() + DEADLINE_MS; !done(); await new Promise((r) => setTimeout(r, 2)))
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    live = await startLive(
      {
        adminToken: ADMIN,
        examples: true,
        wsMaxFrameBytes: FRAME_BYTES,
        wsMaxSubscriptions: MAX_SUBSCRIPTIONS,
        wsMaxFramesPerSecond: FRAMES_PER_SECOND,
        wsMaxConnectionsPerIp: CONNECTIONS_PER_IP,
        // Views are opened by the hundred here; their per-minute budget has tests of its own (test/ws/view-budget.test.ts).
        wsMaxNewViewsPerIp: 100_000,
        // The probes run CONCURRENCY at a time from one address, and one client holds at most half
        // the scan places (2 + 8 by default: 5), so filtered /raw probes were shed with 503
        // scan_busy; the gate has tests of its own (test/history/scan-gate-per-client.test.ts).
        historyScanQueue: 2 * CONCURRENCY,
      },
      { plugins: [...builtinPlugins(), probePlugin(), perCategory] },
    );
    await live.publish(samplesBatch());
    routes = await documentedRoutes(live.base);
    const { plugins } = (await (await fetch(`${live.base}/plugins`)).json()) as {
      plugins: { ident: string; parameters: { name: string; scope: string }[] }[];
    };
    own = new Map(plugins.map((p) => [p.ident, p.parameters.filter((q) => q.scope === 'plugin').map((q) => q.name)]));
  }, 60_000);
  afterAll(() => live?.close());

  it('every documented query parameter, given each hostile value, repeated, or unknown', async () => {
    const probes: Probe[] = [];
    // `/id` requires `id`: given, so a 400 is about the parameter under test.
    const required: Record<string, string> = { '/id': 'id=no-such-id&' };
    const add = (path: string, q: string, param: string | null, refuse = false) =>
      probes.push({ head: `GET ${path}?${param === 'id' ? '' : (required[path] ?? '')}${q} HTTP/1.1`, param, refuse });
    const common = paramsOf(`/api/${[...own.keys()][0]}`).filter((p) => ![...own.values()].flat().includes(p));
    expect(common).toEqual(expect.arrayContaining(['page', 'rows_per_page', 'start', 'stop', 'limit', 'order']));
    // Common view parameters on a few plugins (the probe, with a layout and parameters of its own, always).
    const idents = [...own.keys()];
    const commonOn = new Set(['layout-probe', ...pick(idents, 1)]);
    for (const path of routes.keys()) {
      if (path.includes('{') || path === '/ws') continue;
      const ident = path.startsWith('/api/') ? path.slice(5).split('/')[0] : undefined;
      const isRows = ident !== undefined && ident !== '' && !path.endsWith('/layout');
      for (const param of paramsOf(path)) {
        const mine = ident !== undefined && own.get(ident)?.includes(param);
        if (isRows && !mine && !commonOn.has(ident)) continue;
        for (const v of valuesFor()) add(path, query(param, v), param, schemaRefuses(path, param, decoded(v)));
        add(path, `${param}=1&${param}=2`, param);
        add(path, `${param}&${param}=`, param);
      }
      add(path, 'zz_unknown=1&%5B%5D=%5B&=x&&', null);
    }
    // Heads far past any sane size, on a few routes (uWS reads or refuses them before routing).
    for (const path of pick(
      [...routes.keys()].filter((p) => !p.includes('{') && p !== '/ws'),
      4,
    )) {
      probes.push({
        head: `GET ${path}?x=${'a'.repeat(PAST_HEAD_LIMIT)} HTTP/1.1`,
        param: null,
        refusedByParser: true,
      });
      add(path, `${'k'.repeat(200)}=${'v'.repeat(200)}&`.repeat(200), null);
    }
    // Every parameter misspelt only in case, or encoded in its name.
    add('/api/volume-1m', '%70age=0', 'page');
    add('/raw', 'PAGE=0&Rows_Per_Page=-1', null);
    // A filter given more times than /raw reads (100): refused by name; at the bound, answered.
    add('/raw', 'user=a&'.repeat(101), 'user', true);
    add('/raw', 'not_topic=a&'.repeat(100), null);
    const { failures, statuses } = await runAll(live.port, probes);
    expect(failures).toEqual([]);
    for (const code of [200, 400]) expect(statuses.get(code) ?? 0, `status ${code}`).toBeGreaterThan(0);
    expect(await health(live)).toBe(200);
  }, 60_000);

  it('odd methods and paths: traversal, doubled and encoded slashes, raw bytes, very long paths', async () => {
    const paths = [
      ...[...routes.keys()].filter((p) => !p.includes('{')),
      '/examples/',
      '/examples/volume/index.html',
      '/admin/snapshot',
      '/admin/export',
      '/api/volume-1m/stream',
    ];
    const methods = ['HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT'];
    // Methods uWS 20.30 does not parse: it closes the connection at once.
    const unparsed = ['PROPFIND', 'get', 'X'.repeat(200)];
    const probes: Probe[] = [];
    for (const path of paths) {
      for (const m of methods) probes.push({ head: `${m} ${path} HTTP/1.1`, param: null });
      for (const m of unparsed) probes.push({ head: `${m} ${path} HTTP/1.1`, param: null, refusedByParser: true });
    }
    const odd = [
      '/api/../healthz',
      '/../../../etc/passwd',
      '//',
      '//api//',
      '/api//volume-1m',
      '/api/volume-1m//layout',
      '/api/volume-1m%2Flayout',
      '/api/%2e%2e/healthz',
      '/api/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/examples/../../package.json',
      '/examples/%2e%2e/%2e%2e/package.json',
      '/examples/..%2f..%2fpackage.json',
      '/examples/volume/../../src/cli.ts',
      '/examples//volume//',
      '/raw/../admin/snapshot',
      '/raw/x',
      '/id/',
      '/admin',
      '/admin/',
      '/admin/snapshot/',
      '/admin/%2e%2e/snapshot',
      '/api/%',
      '/api/%zz',
      '/api/%00',
      '/api/%ED%A0%80',
      '/api/volume-1m/stream/x',
      '/api/volume-1m/layout/x',
      '/metrics/',
      '/dashboard/x',
      '/healthz?',
      '/healthz#frag',
      '/ws',
      '/api/__proto__',
      '/api/constructor',
      '/api/toString/layout',
      '/api/hasOwnProperty/stream',
      '/api/volume-1m/__proto__',
      `/api/${'x'.repeat(3000)}`,
      `/api/${'x'.repeat(3000)}/stream`,
      `/${'a/'.repeat(2000)}`,
      `/${'x'.repeat(100_000)}`,
      `/api/${'%'.repeat(30_000)}`,
      `/api/volume-1m?${'&'.repeat(20_000)}`,
    ];
    for (const path of odd) {
      probes.push({ head: `GET ${path} HTTP/1.1`, param: null });
      probes.push({ head: `OPTIONS ${path} HTTP/1.1`, param: null });
    }
    // Raw bytes a client library would refuse to send: UTF-8 and controls in the path, a space in the target.
    for (const path of ['/api/é漢', '/api/\u007f', '/api/volume-1m?x=é'])
      probes.push({ head: `GET ${path} HTTP/1.1`, param: null });
    probes.push({ head: `GET /${'x'.repeat(PAST_HEAD_LIMIT)} HTTP/1.1`, param: null, refusedByParser: true });
    const pending = UNANSWERED_BY_UWS.map((head) => timedExchange(live.port, `${head}\r\nHost: x`, 60_000));
    const { failures } = await runAll(live.port, probes);
    expect(failures).toEqual([]);
    expect(await health(live)).toBe(200);
    void Promise.all(pending);
    // No path reaches a file outside what the routes serve.
    for (const path of odd.filter((p) => p.includes('..') || p.includes('%2e') || p.includes('%2E'))) {
      const o = await timedExchange(live.port, `GET ${path} HTTP/1.1\r\nHost: x`, DEADLINE_MS);
      expect(o.kind === 'answer' && o.body.toString().includes('devDependencies'), path).toBe(false);
    }
    expect(await health(live)).toBe(200);
  }, 60_000);

  it('HEAD answers as GET would on every documented route, bad parameters included', async () => {
    const failures: string[] = [];
    const paths = [...routes.keys()].filter((p) => p !== '/ws').map((p) => p.replace('{ident}', 'volume-1m'));
    for (const path of paths)
      for (const q of ['', '?page=0', '?start=2015-02-30']) {
        const statusOf = async (method: string) => {
          const o = await timedExchange(live.port, `${method} ${path}${q} HTTP/1.1\r\nHost: x`, DEADLINE_MS);
          return o.kind === 'answer' ? o.status : o.kind;
        };
        const [get, head] = [await statusOf('GET'), await statusOf('HEAD')];
        if (get !== head) failures.push(`${path}${q}: GET ${get}, HEAD ${head}`);
      }
    expect(failures).toEqual([]);
    await settled(() => live.service.hub.counts().sse === 0, 'streams closed');
  });

  it('hostile negotiation headers and request framing', async () => {
    const paths = [
      '/',
      '/dashboard',
      '/plugins',
      '/openapi.json',
      '/metrics',
      '/api/',
      '/api/volume-1m',
      '/api/layout-probe/layout',
      '/raw',
      '/id?id=x',
      '/examples/',
    ];
    const values = [
      '',
      ',,,;;;',
      '*/*;q=NaN',
      'text/csv;q=1e309',
      '*/*;q=-1, application/json;q=0',
      'W/"',
      '"',
      `${'"x",'.repeat(5000)}*`,
      ','.repeat(20_000),
      `text/csv;${'q=1;'.repeat(5000)}`,
      'a'.repeat(60_000),
      'é漢',
    ];
    const probes: Probe[] = [];
    for (const path of paths)
      for (const header of ['Accept', 'Accept-Encoding', 'If-None-Match', 'Last-Event-ID', 'X-Forwarded-For'])
        for (const v of pick(values, 4)) probes.push({ head: `GET ${path} HTTP/1.1\r\n${header}: ${v}`, param: null });
    const { failures } = await runAll(live.port, probes);
    // Bodies and framing no route reads: refused by uWS's parser or answered, never a hang or a 5xx.
    const framed: [string, string][] = [
      ['POST /api/volume-1m HTTP/1.1\r\nTransfer-Encoding: chunked', 'FFFFFFFFFFFFFFFFFFFF\r\nx\r\n'],
      ['POST /api/volume-1m HTTP/1.1\r\nTransfer-Encoding: chunked', 'zz\r\n'],
      ['POST /raw HTTP/1.1\r\nContent-Length: -1', ''],
      ['POST /raw HTTP/1.1\r\nContent-Length: 99999999999999999999999', 'x'],
      ['POST /api/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5', 'abcde'],
      ['POST /api/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked', '0\r\n\r\n'],
    ];
    for (const [head, body] of framed) {
      const o = await timedExchange(live.port, `${head}\r\nHost: x`, DEADLINE_MS, body);
      const failure = judge({ head, param: null, refusedByParser: true }, o);
      if (failure !== null) failures.push(failure);
    }
    // Upgrades with hostile handshake headers: switched (101), refused, or closed; never a hang.
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
    const upgrade = 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13';
    for (const extra of [
      '',
      'Sec-WebSocket-Key: ',
      `Sec-WebSocket-Key: ${'A'.repeat(20_000)}`,
      `${key}\r\nSec-WebSocket-Protocol: ${'p,'.repeat(10_000)}p`,
      `${key}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=999; server_max_window_bits=0`,
      `${key}\r\nSec-WebSocket-Extensions: ${'x;'.repeat(10_000)}`,
    ]) {
      const head = extra === '' ? upgrade : `${upgrade}\r\n${extra}`;
      const o = await timedExchange(live.port, `${head}\r\nHost: x`, DEADLINE_MS);
      if (o.kind === 'answer' && o.status === 101) continue;
      const failure = judge({ head, param: null, refusedByParser: true }, o);
      if (failure !== null) failures.push(failure);
    }
    expect(failures).toEqual([]);
    expect(await health(live)).toBe(200);
  });

  it('admin routes refuse every hostile Authorization with a 401 JSON', async () => {
    const auths = [
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${'x'.repeat(6000)}`,
      `Bearer ${ADMIN.slice(1)}`,
      `Bearer ${ADMIN}x`,
      `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`,
      `Bearer ${ADMIN} ${ADMIN}`,
      `Bearer\t${ADMIN.toUpperCase()}`,
      'Bearer \u00e9',
    ];
    for (const path of ['/admin/snapshot', '/admin/export'])
      for (const auth of auths) {
        const o = await timedExchange(
          live.port,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}`,
          DEADLINE_MS,
        );
        expect(judge({ head: `POST ${path} (${auth.slice(0, 40)})`, param: null }, o)).toBeNull();
        expect(o.kind === 'answer' ? o.status : 0, auth.slice(0, 40)).toBe(401);
      }
    // A body nobody reads, larger than any request should be, is refused or ignored, not buffered.
    const big = await timedExchange(
      live.port,
      `POST /admin/snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n${'x'.repeat(4_000_000)}`,
      DEADLINE_MS,
    );
    expect(big.kind === 'hung').toBe(false);
    expect(await health(live)).toBe(200);
  }, 30_000);

  it('SSE subscriptions: hostile parameters and Last-Event-ID get a 4xx naming the parameter or a stream', async () => {
    const probes: Probe[] = [];
    // The stream documents the common view parameters; a plugin's own ones are documented on its rows path.
    const streamParams = paramsOf('/api/{ident}/stream');
    expect(streamParams).toEqual(expect.arrayContaining(['page', 'rows_per_page', 'start', 'stop', 'limit', 'order']));
    for (const ident of ['layout-probe', ...pick([...own.keys()], 1)]) {
      const params = [...streamParams, ...(own.get(ident) ?? [])];
      for (const param of params)
        for (const v of pick(HOSTILE, 12))
          probes.push({
            head: `GET /api/${ident}/stream?${query(param, v)} HTTP/1.1`,
            param,
            refuse: schemaRefuses(`/api/${ident}`, param, decoded(v)),
          });
    }
    const epoch = live.service.hub.epoch;
    for (const id of [
      '',
      'x'.repeat(6000),
      'ffff:99999999999999999999',
      'ff:-1',
      ':',
      `${'f'.repeat(64)}:1`,
      'é',
      `${epoch}:0`,
      `${epoch}:9999999999999999`,
      ` ${epoch}:1 `,
    ])
      probes.push({ head: `GET /api/volume-1m/stream HTTP/1.1\r\nLast-Event-ID: ${id}`, param: null });
    probes.push({ head: `GET /api/${'x'.repeat(2000)}/stream HTTP/1.1`, param: null });
    // One at a time: each stream is closed before the next, so the per-IP bound is not what answers.
    const failures: string[] = [];
    for (const probe of probes) {
      const o = await timedExchange(live.port, `${probe.head}\r\nHost: x`, DEADLINE_MS);
      const failure = judge(probe, o);
      if (failure !== null) failures.push(failure);
      await settled(() => live.service.hub.counts().sse === 0, 'stream closed');
    }
    expect(failures).toEqual([]);

    // The per-IP bound: CONNECTIONS_PER_IP streams are held, the next is a 429 JSON.
    const held = await Promise.all(
      Array.from({ length: CONNECTIONS_PER_IP }, () => openStream(live.port, '/api/volume-1m/stream')),
    );
    expect(held.map((h) => h.status)).toEqual(held.map(() => 200));
    const refused = await timedExchange(live.port, 'GET /api/volume-1m/stream HTTP/1.1\r\nHost: x', DEADLINE_MS);
    expect(judge({ head: 'GET /api/volume-1m/stream (over the per-IP bound)', param: null }, refused)).toBeNull();
    expect(refused.kind === 'answer' ? refused.status : 0).toBe(429);
    for (const h of held) h.close();
    await settled(() => live.service.hub.counts().sse === 0, 'streams closed');
    expect(await health(live)).toBe(200);
  }, 60_000);

  it('WebSocket frames: malformed, deep, unknown, hostile parameters each get an error frame or a reasoned close', async () => {
    const c = await RawClient.open(live.wsUrl);
    await c.next((f) => f.type === 'hello', 'hello');
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepParams = (n: number) =>
      `{"op":"subscribe","ident":"volume-1m","params":{"a":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}`;
    const texts: string[] = [
      '',
      ' ',
      'not json',
      '{',
      'null',
      '1',
      '"subscribe"',
      '[]',
      '{}',
      deep(FRAME_BYTES / 2 - 1),
      deepParams(FRAME_BYTES / 8),
      JSON.stringify({ op: 'x'.repeat(3000) }),
      JSON.stringify({ op: null }),
      JSON.stringify({ op: ['subscribe'] }),
      JSON.stringify({ op: 'subscribe', ident: 'x'.repeat(3000) }),
      JSON.stringify({ op: 'subscribe', ident: '__proto__' }),
      JSON.stringify({ op: 'subscribe', ident: 'constructor' }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', params: 'page=1' }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', params: { page: null } }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', params: { page: [1] } }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', id: 'i'.repeat(129) }),
      '{"op":"ping","id":1e309}',
      '{"op":"ping","id":-1e309}',
      '{"op":"ping","op":"bogus"}',
      '{"__proto__":{"op":"ping"}}',
      '{"op":"subscribe","ident":"volume-1m","id":"\\ud800"}',
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', resume: { epoch: 'x'.repeat(3000), seq: 1 } }),
      '{"op":"subscribe","ident":"volume-1m","resume":{"epoch":"e","seq":1e309}}',
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', resume: { epoch: live.service.hub.epoch, seq: -5 } }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', resume: { epoch: live.service.hub.epoch, seq: 2 ** 52 } }),
      JSON.stringify({ op: 'subscribe', ident: 'volume-1m', resume: { epoch: live.service.hub.epoch, seq: 0.5 } }),
      JSON.stringify({ op: 'unsubscribe', id: 'never-subscribed' }),
      // As many unknown parameters as fit in a frame.
      JSON.stringify({
        op: 'subscribe',
        ident: 'layout-probe',
        params: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
      }),
      JSON.stringify({ op: 'unsubscribe', ident: 'volume-1m', params: { page: '0' } }),
    ];
    const failures: string[] = [];
    for (const text of texts) {
      const from = c.frames.length;
      c.send(text);
      const answer = await answerTo(c, from);
      if (answer === null) failures.push(`${text.slice(0, 80)}: no answer`);
      else if (answer.type === 'error' && (typeof answer['error'] !== 'string' || typeof answer['detail'] !== 'string'))
        failures.push(`${text.slice(0, 80)}: error frame without error and detail`);
      if (c.closed) failures.push(`${text.slice(0, 80)}: closed ${JSON.stringify(c.closed)}`);
      // Subscriptions that succeeded are dropped again, so the per-socket bound is not what answers.
      if (answer?.type === 'snapshot' || answer?.type === 'resumed')
        c.send({ op: 'unsubscribe', ident: answer['ident'], params: paramsOfView(answer['view'] as string) });
    }
    const binary = c.frames.length;
    c.ws.send(Buffer.from([0, 1, 2]), { binary: true });
    expect(await answerTo(c, binary)).toMatchObject({ type: 'error', error: 'bad_frame' });
    expect(failures).toEqual([]);
    c.close();

    // A text frame that is not UTF-8: a close with a code, and the service carries on.
    const bytes = await RawClient.open(live.wsUrl);
    bytes.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const invalid = await answerTo(bytes, 1);
    expect(invalid === null ? 'no answer' : invalid['type']).toMatch(/^(closed|error)$/);
    // A message in fragments adding up past the frame bound: cut off like one big frame.
    const parts = await RawClient.open(live.wsUrl);
    for (let i = 0; i < 64 && parts.ws.readyState === WebSocket.OPEN; i++)
      parts.ws.send('x'.repeat(FRAME_BYTES / 2), { fin: false });
    expect(await answerTo(parts, 1)).toMatchObject({ type: 'closed' });
    expect(await health(live)).toBe(200);
  });

  it('WebSocket subscriptions: every view parameter given each hostile value', async () => {
    const failures: string[] = [];
    const values: unknown[] = [
      ...HOSTILE.filter((v) => !v.raw && v.text.length < 1000).map((v) => v.text),
      1e308,
      -1,
      0.5,
      true,
      false,
    ];
    for (const ident of ['layout-probe', ...pick([...own.keys()], 1)]) {
      const params = paramsOf(`/api/${ident}`).filter((p) => p !== 'callback' && p !== '_');
      for (const param of params) {
        // One socket per parameter, every value at once: answers are matched by id.
        await settled(() => live.service.hub.counts().connections === 0, 'no sockets');
        const c = await RawClient.open(live.wsUrl);
        const ids = values.map((value, i) => {
          c.send({ op: 'subscribe', ident, id: i, params: { [param]: value } });
          return i;
        });
        const answers = await eventually(
          () => {
            const got = new Map(c.frames.filter((f) => typeof f['id'] === 'number').map((f) => [f['id'] as number, f]));
            return ids.every((i) => got.has(i)) || c.closed ? got : undefined;
          },
          DEADLINE_MS,
          `answers to ${ident} ${param}`,
        ).catch(() => new Map<number, Frame>());
        for (const i of ids) {
          const answer = answers.get(i);
          const what = `${ident} ${param}=${JSON.stringify(values[i]).slice(0, 40)}`;
          // Validation comes before every bound: a value the schema refuses is a bad_parameter whatever else holds.
          const refuse = schemaRefuses(`/api/${ident}`, param, String(values[i]));
          if (answer === undefined) failures.push(`${what}: no answer`);
          else if (answer.type === 'error') {
            if (typeof answer['error'] !== 'string' || typeof answer['detail'] !== 'string')
              failures.push(`${what}: error frame without error and detail`);
            if (answer['error'] === 'bad_parameter' && answer['parameter'] !== param)
              failures.push(`${what}: bad_parameter names ${JSON.stringify(answer['parameter'])}`);
            if (refuse && answer['error'] !== 'bad_parameter')
              failures.push(`${what}: ${String(answer['error'])} for a value its schema does not allow`);
          } else if (answer.type !== 'snapshot') failures.push(`${what}: answered ${answer.type}`);
          else if (refuse) failures.push(`${what}: subscribed with a value its schema does not allow`);
        }
        if (c.closed) failures.push(`${ident} ${param}: closed ${JSON.stringify(c.closed)}`);
        c.close();
      }
    }
    expect(failures).toEqual([]);
    expect(await health(live)).toBe(200);
  }, 30_000);

  it('WebSocket bounds: subscriptions per socket, frame size, frame rate, connections per IP', async () => {
    // More distinct views than one socket may hold: the ones past the bound are refused by name.
    const c = await RawClient.open(live.wsUrl);
    for (let i = 1; i <= MAX_SUBSCRIPTIONS + 3; i++)
      c.send({ op: 'subscribe', ident: 'volume-1m', id: i, params: { rows_per_page: i } });
    const answers = await eventually(
      () => {
        const got = c.frames.filter((f) => f.type === 'snapshot' || f.type === 'error');
        return got.length >= MAX_SUBSCRIPTIONS + 3 ? got : undefined;
      },
      DEADLINE_MS,
      'an answer to each subscribe',
    );
    expect(answers.filter((f) => f.type === 'snapshot')).toHaveLength(MAX_SUBSCRIPTIONS);
    expect(answers.filter((f) => f['error'] === 'too_many_subscriptions')).toHaveLength(3);
    c.close();

    // A frame over the size bound closes with 1009 and a reason naming the limit.
    const sized = await RawClient.open(live.wsUrl);
    sized.send(JSON.stringify({ op: 'ping', id: 'x'.repeat(FRAME_BYTES + 1) }));
    expect(await answerTo(sized, 1)).toMatchObject({
      type: 'closed',
      code: 1009,
      reason: expect.stringMatching(new RegExp(`over the ${FRAME_BYTES}-byte limit`)),
    });
    // Past 4x the bound uWS cuts the connection itself before reading the frame (ws-route.ts:
    // no socket holds more than that): closed at once, without a close frame to carry a reason.
    for (const size of [FRAME_BYTES * 4 + 64, FRAME_BYTES * 256]) {
      const big = await RawClient.open(live.wsUrl);
      big.send(JSON.stringify({ op: 'ping', id: 'x'.repeat(size) }));
      const closed = await answerTo(big, 1);
      expect(closed?.type, `${size} bytes`).toBe('closed');
      expect([1006, 1009], `${size} bytes: ${JSON.stringify(closed)}`).toContain(closed?.['code']);
    }

    // Frames faster than the rate bound: closed with 1008 and a reason.
    const fast = await RawClient.open(live.wsUrl);
    for (let i = 0; i < FRAMES_PER_SECOND * 3 && fast.ws.readyState === WebSocket.OPEN; i++) fast.send({ op: 'ping' });
    expect(await eventually(() => fast.closed ?? undefined, DEADLINE_MS, 'rate close')).toMatchObject({
      code: 1008,
      reason: expect.stringMatching(/frames per second/),
    });

    // Connections per IP: the one past the bound is refused at the upgrade with a 429 JSON.
    await settled(() => live.service.hub.counts().connections === 0, 'sockets gone');
    const open = await Promise.all(Array.from({ length: CONNECTIONS_PER_IP }, () => RawClient.open(live.wsUrl)));
    const refused = await timedExchange(
      live.port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      DEADLINE_MS,
    );
    expect(judge({ head: 'GET /ws (over the per-IP bound)', param: null }, refused)).toBeNull();
    expect(refused.kind === 'answer' ? refused.status : 0).toBe(429);
    for (const o of open) o.close();

    // And the service still serves a new socket.
    await settled(() => live.service.hub.counts().connections === 0, 'sockets gone');
    const after = await RawClient.open(live.wsUrl);
    after.send({ op: 'ping', id: 'after' });
    expect(await after.next((f) => f.type === 'pong', 'pong')).toMatchObject({ id: 'after' });
    after.close();
    expect(await health(live)).toBe(200);
  }, 30_000);
});

/** The frame at index `from` (hello is 0) or the close, as soon as it comes; null past the deadline. */
function answerTo(c: RawClient, from: number): Promise<Frame | null> {
  return new Promise((resolve) => {
    const done = (f: Frame | null) => {
      clearTimeout(timer);
      c.ws.off('message', check);
      c.ws.off('close', check);
      resolve(f);
    };
    // RawClient's own listeners were added first: the frame or the close is recorded by now.
    const check = () => {
      const f = c.frames[from];
      if (f !== undefined) done(f);
      else if (c.closed) done({ type: 'closed', ...c.closed } as unknown as Frame);
    };
    const timer = setTimeout(() => done(null), DEADLINE_MS);
    c.ws.on('message', check);
    c.ws.on('close', check);
    check();
  });
}

/** The params of a canonical view name (`ident?order=desc&page=1…`), to unsubscribe it. */
function paramsOfView(view: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(view.slice(view.indexOf('?') + 1)));
}

/** An SSE stream held open until closed, with the status it was answered. */
async function openStream(port: number, path: string): Promise<{ status: number; close(): void }> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.once('data', (d: Buffer) =>
      resolve({ status: Number(d.toString('latin1').split(' ')[1]), close: () => socket.destroy() }),
    );
    socket.once('error', reject);
  });
}
