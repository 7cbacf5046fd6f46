import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, RawClient, startLive, type Live } from './harness.js';

describe('protocol robustness: bad frames never crash or drop the connection', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxFrameBytes: 1024, wsMaxConnectionsPerIp: 4 });
  });
  afterAll(() => live?.close());

  it('answers each bad frame with an error frame naming the problem, and keeps serving', async () => {
    const c = await RawClient.open(live.wsUrl);
    const cases: [unknown, string, Record<string, unknown>][] = [
      ['this is not json', 'bad_frame', {}],
      ['[1,2,3]', 'bad_frame', {}],
      ['null', 'bad_frame', {}],
      [{ op: 'explode', id: 7 }, 'unknown_op', { id: 7 }],
      [{ ident: 'volume-1m' }, 'unknown_op', {}],
      [{ op: 'subscribe', id: 'q' }, 'bad_frame', { id: 'q' }],
      [{ op: 'subscribe', ident: 42 }, 'bad_frame', {}],
      [{ op: 'subscribe', ident: 'volume-1m', params: [1] }, 'bad_frame', { ident: 'volume-1m' }],
      [{ op: 'subscribe', ident: 'volume-1m', params: { start: { $gt: 1 } } }, 'bad_frame', {}],
      [{ op: 'subscribe', ident: 'volume-1m', resume: { epoch: 5 } }, 'bad_frame', {}],
      [{ op: 'subscribe', ident: 'volume-1m', id: { nested: true } }, 'bad_frame', {}],
      [{ op: 'subscribe', ident: 'no-such-plugin', id: 9 }, 'unknown_ident', { id: 9, ident: 'no-such-plugin' }],
      [
        { op: 'subscribe', ident: 'volume-1m', params: { start: 'yesterday' } },
        'bad_parameter',
        { parameter: 'start' },
      ],
      [{ op: 'unsubscribe' }, 'bad_frame', {}],
      [{ op: 'unsubscribe', ident: 'volume-1m' }, 'not_subscribed', {}],
    ];
    for (const [frame, code, extra] of cases) {
      const from = c.frames.length;
      c.send(frame);
      const err = await c.next((f) => f.type === 'error', `error for ${JSON.stringify(frame)}`, from);
      expect(err, JSON.stringify(frame)).toMatchObject({ error: code, ...extra });
      expect(typeof err['detail']).toBe('string');
    }
    const from = c.frames.length;
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next((f) => f.type === 'error', 'binary frame error', from)).toMatchObject({ error: 'bad_frame' });
    c.send({ op: 'ping', id: 'p' });
    expect(await c.next((f) => f.type === 'pong', 'pong')).toMatchObject({ id: 'p' });
    c.send({ op: 'subscribe', ident: 'volume-1m', id: 'ok' });
    expect(await c.next((f) => f.type === 'snapshot', 'snapshot after all that')).toMatchObject({ id: 'ok' });
    expect(c.closed).toBeNull();
    c.close();
  });

  it('closes with 1009 on a frame over wsMaxFrameBytes, and the server carries on', async () => {
    const c = await RawClient.open(live.wsUrl);
    c.send({ op: 'subscribe', ident: 'volume-1m', params: { pad: 'x'.repeat(2000) } });
    await eventually(() => c.closed ?? undefined, 5_000, 'close');
    expect(c.closed).toMatchObject({ code: 1009, reason: expect.stringMatching(/over the 1024-byte limit/) });
    expect((await fetch(`${live.base}/healthz`)).status).toBe(200);
    const d = await RawClient.open(live.wsUrl);
    d.send({ op: 'subscribe', ident: 'volume-1m' });
    expect(await d.next((f) => f.type === 'snapshot', 'snapshot')).toBeTruthy();
    d.close();
  });

  it('limits connections per IP (WebSocket and SSE together) with a 429', async () => {
    await eventually(
      () => (live.service.hub.counts().connections === 0 ? true : undefined),
      5_000,
      'earlier clients gone',
    );
    const open = [await RawClient.open(live.wsUrl), await RawClient.open(live.wsUrl), await RawClient.open(live.wsUrl)];
    const sse = await fetch(`${live.base}/api/volume-1m/stream`);
    expect(sse.status).toBe(200);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(live.wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(429);
    const sse2 = await fetch(`${live.base}/api/volume-1m/stream`);
    expect(sse2.status).toBe(429);
    expect(await sse2.json()).toMatchObject({ error: 'too_many_connections' });
    open[0]?.close();
    await eventually(() => (live.service.hub.counts().connections === 2 ? true : undefined), 5_000, 'one closed');
    const again = await RawClient.open(live.wsUrl);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    await sse.body?.cancel();
    for (const c of [...open, again]) c.close();
  });
});

describe('a frame nested as deep as the frame bound allows', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({});
  });
  afterAll(() => live?.close());

  it('is answered with an error frame carrying its id, not silence', async () => {
    const c = await RawClient.open(live.wsUrl);
    // 30,000 nested arrays fit in the 64 KiB frame; naming the op in the error stringified them
    // and overflowed the stack: the frame got no answer, and the server logged an error.
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    for (const [text, code] of [
      [`{"op":${deep},"id":7}`, 'unknown_op'],
      [`{"op":"subscribe","ident":"volume-1m","params":{"a":${deep}},"id":7}`, 'bad_frame'],
      [`{"op":"subscribe","ident":"volume-1m","resume":${deep},"id":7}`, 'bad_frame'],
    ] as const) {
      const from = c.frames.length;
      c.ws.send(text);
      expect(await c.next((f) => f.type === 'error', `error for ${code}`, from)).toMatchObject({ error: code, id: 7 });
    }
    c.send({ op: 'ping', id: 'p' });
    expect(await c.next((f) => f.type === 'pong', 'pong')).toMatchObject({ id: 'p' });
    expect(c.closed).toBeNull();
    c.close();
  });
});
