/**
 * `/ws` asked without a WebSocket handshake (a proxy that drops the Upgrade headers, curl, a
 * browser tab): uWS passes it to the HTTP routes, which said 404 "no route "/ws"; GET /
 * documents the routes" of a route GET / documents. It is a 426 naming the headers it needs, or a
 * 400 naming the key an attempted handshake lacks; the WebSocket itself is unaffected.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startLive, type Live } from './harness.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request over node:http (fetch refuses to send Upgrade and Connection headers). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', () => reject(new Error(`${path} was upgraded`)));
    req.on('error', reject);
    req.end();
  });
}

describe('/ws without a WebSocket handshake', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live?.close());

  it('is a 426 naming the Upgrade header, for GET and HEAD, with or without a trailing slash', async () => {
    for (const path of ['/ws', '/ws/', '/ws?x=1']) {
      const a = await get(live.port, path);
      expect(a.status, path).toBe(426);
      expect(a.headers['upgrade'], path).toBe('websocket');
      const body = JSON.parse(a.body) as Record<string, unknown>;
      expect(body, path).toMatchObject({ error: 'upgrade_required', header: 'Upgrade' });
      expect(body['detail'], path).toMatch(/Upgrade: websocket/);
    }
    const head = await get(live.port, '/ws', {}, 'HEAD');
    expect(head.status).toBe(426);
    expect(head.body).toBe('');
  });

  it('a handshake without a usable Sec-WebSocket-Key is a 400 naming it', async () => {
    for (const key of [undefined, 'short']) {
      const headers: Record<string, string> = {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
      };
      if (key !== undefined) headers['Sec-WebSocket-Key'] = key;
      const a = await get(live.port, '/ws', headers);
      expect(a.status, String(key)).toBe(400);
      expect(JSON.parse(a.body), String(key)).toMatchObject({ error: 'bad_handshake', header: 'Sec-WebSocket-Key' });
    }
  });

  it('other methods are refused as on every route, and a real handshake opens the socket, on /ws/ too', async () => {
    const post = await get(live.port, '/ws', {}, 'POST');
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body)).toMatchObject({ error: 'method_not_allowed' });
    // With one trailing slash too, as every route takes it (it was a 404).
    for (const url of [live.wsUrl, `${live.wsUrl}/`]) {
      const c = await RawClient.open(url);
      c.send({ op: 'ping', id: 1 });
      expect(await c.next((f) => f.type === 'pong', `pong on ${url}`)).toMatchObject({ id: 1 });
      c.close();
    }
    const counted = await (await fetch(`${live.base}/metrics`)).text();
    expect(counted).toMatch(/statscache_http_requests_total\{route="\/ws",method="GET",status="426"\} [1-9]/);
  });
});
