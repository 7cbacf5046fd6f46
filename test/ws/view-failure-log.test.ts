import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { MovedClock } from '../helpers/moved-clock.js';
import { openSse } from '../helpers/sse-stream.js';
import { eventually } from '../helpers/service-process.js';
import { RawClient, startLive, type Live } from './harness.js';

/**
 * The operator's line for a failing plugin view (view-failure-log.ts) was written for HTTP
 * answers only: a WebSocket subscription or SSE stream whose new view failed to compute was
 * refused `view_failed` and logged nowhere, and a live view failing on a tick logged a line of
 * its own per view. Now each is the plugin's one throttled line (its stack, `via` saying where it
 * was met), one throttle per plugin across transports.
 */
const failing = (name: string, topic = 'org.test.view-failure-log') =>
  definePlugin({
    name,
    interval: '1m',
    summary: 'test plugin whose view fails for some parameters, or once a row says so',
    description: 'The view throws for mode=view, and for any parameters once a row has fail set.',
    topics: [topic],
    rows: rowsOf<{ timestamp: number; n: number; fail: boolean }>(),
    columns: ['n', 'fail'],
    key: ['n'],
    params: { mode: { type: 'string', description: 'view: the view throws' } },
    update(m, { rows }) {
      const body = m.body as { n: number; fail?: boolean };
      rows.put({ timestamp: T, n: body.n, fail: body.fail === true });
    },
    view({ rows }, params) {
      if (params.mode === 'view') throw new Error(`${name} refused these parameters`);
      const all = [...rows.values()];
      if (all.some((r) => r.fail)) throw new Error(`${name} met a failing row`);
      return all;
    },
  });
const T = Math.floor(Date.now() / 1000) - 60;
const WS = 'ws-opened-1m';
const SSE = 'sse-opened-1m';
const TICK = 'tick-failed-1m';

type LogLine = { level: number; msg: string; plugin?: string; via?: string; err?: string; view?: string; seq?: number };

describe("a plugin view's failure met by a WebSocket subscription, an SSE stream or a live view's tick", () => {
  let live: Live;
  const logs: LogLine[] = [];
  const lines = (ident: string) => logs.filter((l) => l.plugin === ident && l.msg.startsWith(`the view of ${ident}`));

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    live = await startLive(
      {},
      { plugins: [failing('WS opened'), failing('SSE opened'), failing('Tick failed')], logger },
    );
  });
  afterAll(async () => {
    await live?.close();
  });

  it('is logged once with its stack for a WebSocket subscription, and HTTP meeting it next shares the throttle', async () => {
    const ws = await RawClient.open(live.wsUrl);
    ws.send({ op: 'subscribe', ident: WS, params: { mode: 'view' }, id: 1 });
    const refused = await ws.next((f) => f.id === 1, 'the subscription answered', 0, 10_000);
    expect(refused).toMatchObject({ type: 'error', error: 'view_failed', ident: WS });
    ws.close();
    expect(lines(WS)).toEqual([
      expect.objectContaining({
        level: 40,
        via: 'websocket',
        err: expect.stringMatching(/WS opened refused these parameters\n\s+at /),
      }),
    ]);

    const res = await fetch(`${live.base}/api/${WS}?mode=view`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'view_failed' });
    // Within the period: counted toward the next line, not a line of its own.
    expect(lines(WS)).toHaveLength(1);
  }, 60_000);

  it('is logged for an SSE stream refused because its view failed', async () => {
    const res = await fetch(`${live.base}/api/${SSE}/stream?mode=view`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'view_failed' });
    expect(lines(SSE)).toEqual([
      expect.objectContaining({
        level: 40,
        via: 'sse',
        err: expect.stringMatching(/SSE opened refused these parameters\n\s+at /),
      }),
    ]);
  }, 60_000);

  it("is logged when a live view's recompute fails, its subscribers told view_failed", async () => {
    await live.publish([
      { topic: 'org.test.view-failure-log', msg_id: `vfl-${process.pid}-1`, timestamp: T, msg: { n: 1 } },
    ]);
    const ws = await RawClient.open(live.wsUrl);
    ws.send({ op: 'subscribe', ident: TICK, id: 2 });
    await ws.next((f) => f.type === 'snapshot' && f.id === 2, 'the snapshot', 0, 10_000);
    expect(lines(TICK)).toEqual([]);
    await live.publish([
      { topic: 'org.test.view-failure-log', msg_id: `vfl-${process.pid}-2`, timestamp: T, msg: { n: 2, fail: true } },
    ]);
    await ws.next((f) => f.type === 'error' && f.id === 2, 'view_failed for the subscription', 0, 10_000);
    ws.close();
    expect(lines(TICK)).toEqual([
      expect.objectContaining({
        level: 40,
        via: 'live_view',
        view: expect.any(String),
        seq: expect.any(Number),
        err: expect.stringMatching(/Tick failed met a failing row\n\s+at /),
      }),
    ]);
    // That one line is all: the view's own line, with the same stack, is gone into it.
    expect(logs.filter((l) => l.level === 40 && l.plugin === TICK)).toHaveLength(1);
  }, 60_000);
});

describe('subscribers joining a live view that fails already', () => {
  const JOIN = 'joined-failing-1m';
  const TOPIC = 'org.test.view-failure-join';
  let live: Live;
  const clock = new MovedClock();
  const logs: LogLine[] = [];
  const lines = () => logs.filter((l) => l.plugin === JOIN && l.msg.startsWith(`the view of ${JOIN}`));

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    live = await startLive({}, { plugins: [failing('Joined failing', TOPIC)], logger, clock });
  });
  afterAll(async () => {
    await live?.close();
  });

  it("are told view_failed and counted toward the plugin's next line, as HTTP's repeated answers are", async () => {
    await live.publish([{ topic: TOPIC, msg_id: `vfj-${process.pid}-1`, timestamp: T, msg: { n: 1 } }]);
    const first = await RawClient.open(live.wsUrl);
    first.send({ op: 'subscribe', ident: JOIN, id: 1 });
    await first.next((f) => f.type === 'snapshot' && f.id === 1, 'the snapshot', 0, 10_000);
    await live.publish([{ topic: TOPIC, msg_id: `vfj-${process.pid}-2`, timestamp: T, msg: { n: 2, fail: true } }]);
    await first.next((f) => f.type === 'error' && f.id === 1, 'view_failed for the first', 0, 10_000);
    expect(lines()).toEqual([expect.objectContaining({ via: 'live_view', failed_answers_since_last_line: 0 })]);

    // Joining the view its first subscriber keeps failing: its last good rows, then view_failed.
    const joined = await RawClient.open(live.wsUrl);
    joined.send({ op: 'subscribe', ident: JOIN, id: 2 });
    await joined.next((f) => f.type === 'snapshot' && f.id === 2, 'the snapshot', 0, 10_000);
    expect(await joined.next((f) => f.type === 'error' && f.id === 2, 'view_failed', 0, 10_000)).toMatchObject({
      error: 'view_failed',
      ident: JOIN,
    });
    // Asking again for the view it holds: told view_failed again, an answer like the others.
    joined.send({ op: 'subscribe', ident: JOIN, id: 3 });
    await joined.next((f) => f.type === 'error' && f.id === 3, 'view_failed again', 0, 10_000);
    const stream = await openSse(`${live.base}/api/${JOIN}/stream`);
    await eventually(() => (stream.events.some((e) => e.event === 'view_failed') ? true : undefined), 10_000, 'SSE', 2);
    stream.close();
    const res = await fetch(`${live.base}/api/${JOIN}`);
    expect(res.status).toBe(500);
    await res.body?.cancel();
    // Within the period: counted, no line of their own.
    expect(lines()).toHaveLength(1);

    clock.moveOn(61_000);
    const next = await fetch(`${live.base}/api/${JOIN}`);
    expect(next.status).toBe(500);
    await next.body?.cancel();
    first.close();
    joined.close();
    // The WebSocket subscriber (twice), the SSE stream and the HTTP answer between the two lines.
    expect(lines()).toEqual([
      expect.objectContaining({ via: 'live_view', failed_answers_since_last_line: 0 }),
      expect.objectContaining({ via: 'http', failed_answers_since_last_line: 4 }),
    ]);
  }, 60_000);
});

describe('an HTTP poller meeting a failing view again and again', () => {
  const POLLED = 'polled-failing-1m';
  let live: Live;
  const clock = new MovedClock();
  const logs: LogLine[] = [];
  const lines = () => logs.filter((l) => l.plugin === POLLED && l.msg.startsWith(`the view of ${POLLED}`));

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    live = await startLive({}, { plugins: [failing('Polled failing', 'org.test.view-failure-poll')], logger, clock });
  });
  afterAll(async () => {
    await live?.close();
  });

  it("counts every 500 view_failed toward the plugin's next line, the same request in the same second too", async () => {
    // One second and one state: a kept answer would serve the same request again (answer memo, hot answer).
    clock.hold();
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${live.base}/api/${POLLED}?mode=view`);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: 'view_failed' });
    }
    expect(lines()).toEqual([expect.objectContaining({ via: 'http', failed_answers_since_last_line: 0 })]);
    clock.moveOn(61_000);
    const next = await fetch(`${live.base}/api/${POLLED}?mode=view`);
    expect(next.status).toBe(500);
    await next.body?.cancel();
    expect(lines()).toEqual([
      expect.objectContaining({ via: 'http', failed_answers_since_last_line: 0 }),
      expect.objectContaining({ via: 'http', failed_answers_since_last_line: 3 }),
    ]);
  }, 60_000);
});
