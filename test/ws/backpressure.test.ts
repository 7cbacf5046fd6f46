import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type Socket } from 'node:net';
import { StatscacheClient, type WebSocketCtor } from '../../examples/ws-client/statscache-client.js';
import { eventually, fatBatch, httpRows, RawClient, startLive, type Live, canon } from './harness.js';

const SOFT = 64 * 1024;
const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

/** The example client subscribed to fat-rows, its snapshot in: the one that keeps reading. */
async function fastClient(live: Live) {
  const fast = new StatscacheClient({ url: live.wsUrl, WebSocket: WebSocket as unknown as WebSocketCtor });
  const sub = fast.subscribe('fat-rows');
  await sub.ready();
  return { fast, sub };
}

/** A raw client subscribed to fat-rows that took its snapshot, then stopped reading. */
async function pausedSubscriber(live: Live, what: string): Promise<RawClient> {
  const c = await RawClient.open(live.wsUrl);
  c.send({ op: 'subscribe', ident: 'fat-rows' });
  await c.next((f) => f.type === 'snapshot', what);
  socketOf(c).pause();
  return c;
}

/** Publishes fat batches of `size` until `done`; resolves with the count published. */
async function publishFatUntil(live: Live, size: number, done: () => boolean, what: string): Promise<number> {
  let n = 0;
  await eventually(
    async () => {
      await live.publish(fatBatch(size, n));
      n += size;
      return done() ? true : undefined;
    },
    25_000,
    what,
  );
  return n;
}

/** Waits until the fast client's rows are the HTTP view's. */
const fastEqualsHttp = (live: Live, sub: { rows: Map<string, Record<string, unknown>> }) =>
  eventually(
    async () => (canon(sub.rows.values()) === canon(await httpRows(live.base, 'fat-rows')) ? true : undefined),
    10_000,
    'fast client equals HTTP',
  );

describe('back-pressure: a client that stops reading', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxBufferedBytes: SOFT, wsSlowTimeoutSeconds: 1 });
  });
  afterAll(() => live?.close());

  it('is cut off (4008 once it reads, dropped if it never does) while another client keeps receiving every update; its queue stays bounded', async () => {
    const { fast, sub } = await fastClient(live);
    const stuck: RawClient[] = [];
    for (let i = 0; i < 2; i++) stuck.push(await pausedSubscriber(live, 'slow snapshot'));
    const [late, dead] = stuck as [RawClient, RawClient];

    const n = await publishFatUntil(
      live,
      400,
      () => live.service.hub.stats.slowClosed >= 2,
      'both stuck clients to be given up on',
    );
    expect(live.service.hub.stats.slowEntered).toBeGreaterThanOrEqual(2);
    // Bounded: never more than the hard limit (4 × soft) plus the one tick of frames that crossed it.
    expect(live.service.hub.stats.peakBufferedBytes).toBeLessThan(4 * SOFT + 50 * 9 * 1024);

    // One starts reading again: after the frames already queued it finds the close frame and its reason.
    socketOf(late).resume();
    await eventually(() => late.closed ?? undefined, 20_000, 'close seen by the late reader');
    expect(late.closed).toMatchObject({ code: 4008 });
    expect(late.closed?.reason).toMatch(/too slow/);
    // The other never reads: the server drops it after another slow timeout, keeping only the healthy client.
    await eventually(
      () => (live.service.hub.counts().connections === 1 ? true : undefined),
      20_000,
      'the dead client dropped',
    );
    expect(live.server().connections()).toBe(1);

    // The healthy client saw every change in order and holds the HTTP view.
    await live.publish(fatBatch(50, n));
    await fastEqualsHttp(live, sub);
    expect(fast.stats.gaps).toBe(0);
    expect(fast.stats.snapshots).toBe(1);
    expect(fast.stats.updates).toBeGreaterThan(5);
    fast.close();
    dead.ws.terminate();
  });
});

describe('back-pressure: a client that falls behind, then catches up', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxBufferedBytes: SOFT, wsSlowTimeoutSeconds: 120 });
  });
  afterAll(() => live?.close());

  it('gets coalesced latest state (one resync snapshot) instead of the backlog, then live updates again', async () => {
    const c = await pausedSubscriber(live, 'snapshot');
    let n = await publishFatUntil(live, 200, () => live.service.hub.counts().slow > 0, 'the client to be marked slow');
    const skippedFrom = live.service.hub.stats.updates;
    await live.publish(fatBatch(200, n));
    n += 200;
    socketOf(c).resume();
    const resync = await c.next((f) => f.type === 'snapshot' && f['reason'] === 'resync', 'resync snapshot', 0, 20_000);
    expect(live.service.hub.counts().slow).toBe(0);
    expect(live.service.hub.stats.updates).toBeGreaterThan(skippedFrom);
    await live.publish(fatBatch(100, n));
    // After the resync: updates continue from its seq, and the rows equal the HTTP view.
    await eventually(
      async () => {
        const at = c.frames.indexOf(resync);
        const rows = new Map<string, Record<string, unknown>>();
        for (const r of resync['rows'] as Record<string, unknown>[]) rows.set(String(r['slot']), r);
        let seq = resync['seq'] as number;
        for (const f of c.frames.slice(at + 1)) {
          if (f.type !== 'update') continue;
          expect(f.seq).toBe(seq + 1);
          seq = f.seq;
          for (const r of f.rows) rows.set(String(r['slot']), r);
        }
        return canon(rows.values()) === canon(await httpRows(live.base, 'fat-rows')) ? true : undefined;
      },
      10_000,
      'caught-up client equals HTTP',
    );
    expect(c.closed).toBeNull();
    c.close();
  });
});

describe('back-pressure: an SSE stream that stops reading', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxBufferedBytes: SOFT, wsSlowTimeoutSeconds: 1 });
  });
  afterAll(() => live?.close());

  it('gets no more updates once its socket is full, is closed after the slow timeout, and frees its per-IP slots', async () => {
    const { fast, sub } = await fastClient(live);
    // A raw connection that asks for the stream and never reads: the kernel buffers fill, then
    // uWS reports each write as queued, and the hub stops writing to it.
    const stuck = connect(live.port, '127.0.0.1');
    stuck.pause();
    stuck.on('error', () => {});
    const ended = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    stuck.write('GET /api/fat-rows/stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => (live.service.hub.counts().sse === 1 ? true : undefined), 10_000, 'the stream opened');
    const closedBefore = live.service.hub.stats.slowClosed;

    const n = await publishFatUntil(
      live,
      400,
      () => live.service.hub.stats.slowClosed > closedBefore,
      'the stuck stream to be given up on',
    );
    expect(live.service.hub.counts()).toMatchObject({ sse: 0, slow: 0 });
    // Closed, not merely forgotten: reading now reaches the end of the connection.
    stuck.resume();
    await ended;
    expect(live.server().connections()).toBe(1);
    // Its connection and subscription no longer count against the IP: a new stream is admitted.
    const again = await fetch(`${live.base}/api/fat-rows/stream`);
    expect(again.status).toBe(200);
    await again.body?.cancel();

    // The healthy client saw every change.
    await live.publish(fatBatch(50, n));
    await fastEqualsHttp(live, sub);
    expect(fast.stats.gaps).toBe(0);
    fast.close();
  });
});
