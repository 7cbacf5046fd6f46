/**
 * Label cardinality of /metrics under outside input: every series a scrape shows is named by
 * the service (plugins, routes, reasons, limits), never by what a client or a publisher sent.
 * Two rounds of the same kinds of input, each value new (paths, methods, query parameters,
 * negotiation headers, client addresses through a trusted proxy, WebSocket subscriptions, SSE
 * streams, bus topics, usernames, `i` counters, msg_ids), must leave the same statscache_
 * series: a label fed from any of them grows with each round.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upgrade, xff } from '../helpers/live-connections.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { RawClient, type Live, startLive } from '../ws/harness.js';

const SEED = 20261204;
const HTTP_PER_ROUND = 240;
const WS_PER_ROUND = 12;
const BUS_PER_ROUND = 200;

/** statscache_ series as `name{labels}` (process and runtime metrics are not fed from outside). */
const seriesOf = (text: string): Set<string> =>
  new Set(
    text
      .split('\n')
      .filter((l) => l.startsWith('statscache_'))
      .map((l) => l.slice(0, l.lastIndexOf(' '))),
  );

/** A request with any method and raw path (fetch refuses some methods; node:http sends them as given). */
const send = (port: number, method: string, path: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

describe('/metrics series under unique outside values', () => {
  let live: Live;
  const random = mulberry32(SEED);
  const word = () => Math.floor(random() * 2 ** 32).toString(36);
  const ipv6 = () => Array.from({ length: 8 }, () => Math.floor(random() * 0x10000).toString(16)).join(':');
  const ipv4 = () => Array.from({ length: 4 }, () => Math.floor(random() * 256)).join('.');

  beforeAll(async () => {
    live = await startLive({ trustProxy: ['127.0.0.1'], wsMaxNewViewsPerIp: 100_000 });
  });
  afterAll(async () => live?.close());

  /** One round: the same shapes every time, each carrying values never sent before. */
  const round = async (r: number): Promise<string[]> => {
    const sent: string[] = [];
    const unique = () => {
      const w = `u${r}x${word()}`;
      sent.push(w);
      return w;
    };
    for (let k = 0; k < HTTP_PER_ROUND; k++) {
      const u = unique();
      const client = k % 2 === 0 ? ipv4() : ipv6();
      const headers = { ...xff(client), accept: `application/${u}`, 'x-custom': u };
      const shapes: [string, string][] = [
        ['GET', `/api/${u}`],
        ['GET', `/api/${u}/layout`],
        ['HEAD', `/api/${u}/stream`],
        ['GET', `/${u}/${u}`],
        ['GET', `/api/volume-1m/${u}`],
        ['GET', `/api/volume-1m?${u}=1`],
        ['GET', `/api/volume-1m?rows_per_page=${u}`],
        ['GET', `/api/live-per-category-1m?category=${u}`],
        ['GET', `/raw?topic=${u}&rows_per_page=1`],
        ['GET', `/id?id=${u}`],
        [`X${u.toUpperCase()}`, `/api/volume-1m`],
        ['POST', `/admin/${u}`],
        ['DELETE', `/api/${u}`],
        ['OPTIONS', `/${u}`],
      ];
      const [method, path] = shapes[k % shapes.length] as [string, string];
      // uWS closes the connection on a method it does not know, before any route runs.
      const status = await send(live.port, method, path, headers).catch((e: Error) => e.message);
      if (method.startsWith('X')) expect(status).toBe('socket hang up');
      else expect(status, `${method} ${path}`).toBeLessThan(500);
    }
    for (let k = 0; k < WS_PER_ROUND; k++) {
      const client = await RawClient.open(live.wsUrl, { headers: xff(ipv6()) });
      client.send({ op: 'subscribe', ident: unique(), id: unique() });
      client.send({ op: 'subscribe', ident: 'live-per-category-1m', params: { category: unique() }, id: k });
      client.send({ op: unique() });
      await client.next((f) => f.type === 'snapshot' || f.type === 'error', 'an answer', 0);
      await client.next((f) => f.type === 'snapshot', 'the live-per-category-1m snapshot', 0);
      client.close();
      const plain = await upgrade(`${live.wsUrl}?${unique()}`, xff(ipv4()));
      expect(plain.status).toBe(101);
      plain.close();
    }
    const now = Math.floor(Date.now() / 1000) - 5;
    await live.publish(
      Array.from({ length: BUS_PER_ROUND }, (_, k) => ({
        topic: `org.fedoraproject.prod.${unique()}.${unique()}`,
        timestamp: now,
        msg_id: `${r}-${unique()}`,
        i: 1 + Math.floor(random() * 1e6),
        username: unique(),
        msg: { agent: unique(), [unique()]: k },
      })),
    );
    return sent;
  };

  it('two rounds of new values leave the same series, and no label holds a value sent', async () => {
    await round(1);
    // A scrape counts itself: the one that renders `first` must not be the first of its series.
    await fetch(`${live.base}/metrics`);
    const first = seriesOf(await (await fetch(`${live.base}/metrics`)).text());
    const sent = await round(2);
    const text = await (await fetch(`${live.base}/metrics`)).text();
    const second = seriesOf(text);
    expect([...second].filter((s) => !first.has(s))).toEqual([]);
    expect(second.size).toBe(first.size);
    for (const w of sent) expect(text.includes(w), w).toBe(false);
    // The input did arrive and was counted: the rounds were not refused wholesale.
    expect(text).toMatch(/^statscache_bus_accepted_total 400$/m);
    expect(text).toMatch(/^statscache_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+$/m);
  }, 60_000);
});
