import type { Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StatscacheClient, type WebSocketCtor } from '../../examples/ws-client/statscache-client.js';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { openSse as openStream } from '../helpers/sse-stream.js';
import {
  eventually,
  fat,
  fatBatch,
  type Frame,
  httpRows,
  keyOf,
  matchesHttp,
  RawClient,
  startLive,
  type Live,
} from './harness.js';

/**
 * A live view whose plugin's view starts failing after it was subscribed: its subscribers kept
 * the last rows, told nothing, while every tick that found the plugin moved logged a warning.
 * Now each subscriber (WebSocket, with its id; SSE) gets one `view_failed` frame per failure
 * episode, a subscriber joining meanwhile gets it after its snapshot, the warning is logged once
 * per episode (its end with the count), and the first good recompute is an update frame (even
 * one changing no row) that makes the rows the client kept right again. The warning is one line:
 * the plugin's failure line (view-failure-log.ts) was written beside the view's own, with the
 * same stack; now the plugin's line carries the view's fields.
 */
const flaky = definePlugin({
  name: 'Flaky view',
  interval: '1m',
  summary: 'test plugin whose view fails while its latest message says so',
  description: 'Rows by n; the view throws while the latest message had fail: true.',
  topics: ['org.test.flaky'],
  rows: rowsOf<{ timestamp: number; n: number }>(),
  columns: ['n'],
  key: ['n'],
  stores: { mode: store<string>() },
  update(m, { rows, stores }) {
    const body = m.body as { n: number; fail?: boolean };
    stores.mode.set('mode', body.fail === true ? 'fail' : 'ok');
    rows.put({ timestamp: T, n: body.n });
  },
  view({ rows, stores }) {
    if (stores.mode.get('mode') === 'fail') throw new Error('told to fail by its latest message');
    return [...rows.values()];
  },
});
const IDENT = 'flaky-view-1m';
const T = Math.floor(Date.now() / 1000) - 60;
type LogLine = {
  level: number;
  msg: string;
  failures?: number;
  view?: string;
  plugin?: string;
  via?: string;
  seq?: number;
  err?: string;
  failed_answers_since_last_line?: number;
};
const WARN = 40;

/** A service of the flaky plugin with its log lines captured, and a publisher of its messages (ids prefixed). */
function flakyService(idPrefix: string) {
  const logs: LogLine[] = [];
  let sent = 0;
  const ctx = {
    live: undefined as unknown as Live,
    logs,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    publish: (n: number, fail = false) =>
      ctx.live.publish([
        {
          topic: 'org.test.flaky',
          msg_id: `${idPrefix}-${process.pid}-${++sent}`,
          timestamp: T,
          msg: fail ? { n, fail } : { n },
        },
      ]),
  };
  return ctx;
}

describe('a live view whose plugin view starts failing after it was subscribed', () => {
  const svc = flakyService('flaky');
  const { logs, publish } = svc;
  let live: Live;
  const metric = async (line: RegExp): Promise<string> => {
    const text = await (await fetch(`${live.base}/metrics`)).text();
    return text.split('\n').find((l) => line.test(l)) ?? '';
  };
  // Every warning about the plugin: a failure's start is to be one line, not two.
  const warnings = () => logs.filter((l) => l.level === WARN && l.plugin === IDENT);

  beforeAll(async () => {
    live = svc.live = await startLive({}, { plugins: [flaky], logger: svc.logger });
  });
  afterAll(async () => {
    await live?.close();
  });

  it('tells each subscriber once per episode, logs once per episode, and the next good frame puts its rows right', async () => {
    await publish(1);
    const a = await RawClient.open(live.wsUrl);
    a.send({ op: 'subscribe', ident: IDENT, id: 7 });
    const snap = (await a.next((f) => f.type === 'snapshot' && f.id === 7, 'the snapshot', 0, 10_000)) as Frame & {
      seq: number;
      view: string;
      rows: Record<string, unknown>[];
    };
    expect(snap.rows).toEqual([{ timestamp: T, n: 1 }]);
    const held = new Map(snap.rows.map((r) => [keyOf(['n'], r), r]));
    const stream = await openStream(`${live.base}/api/${IDENT}/stream`);
    await eventually(() => stream.events.find((e) => e.event === 'snapshot'), 10_000, 'the SSE snapshot', 2);
    // The example client: a view failing is no refusal to ask again; it keeps its rows, marked failing.
    const client = new StatscacheClient({ url: live.wsUrl, WebSocket: WebSocket as unknown as WebSocketCtor });
    const sub = client.subscribe(IDENT);
    await sub.ready();

    // The view fails on the next tick: each subscriber is told, with the seq its rows are as of.
    await publish(2, true);
    const told = await a.next((f) => f.type === 'error', 'view_failed for subscription 7', 0, 10_000);
    expect(told).toMatchObject({
      type: 'error',
      error: 'view_failed',
      ident: IDENT,
      view: snap.view,
      id: 7,
      seq: snap.seq,
      detail: expect.stringContaining('told to fail by its latest message'),
    });
    const sseTold = await eventually(
      () => stream.events.find((e) => e.event === 'view_failed'),
      10_000,
      'the SSE view_failed event',
      2,
    );
    expect(sseTold.data).toMatchObject({ type: 'error', error: 'view_failed', view: snap.view, seq: snap.seq });
    // One warning: the view's fields and the plugin's, the stack once.
    expect(warnings()).toEqual([
      expect.objectContaining({
        view: snap.view,
        plugin: IDENT,
        seq: snap.seq,
        via: 'live_view',
        failed_answers_since_last_line: 0,
        err: expect.stringMatching(/told to fail by its latest message\n\s+at /),
      }),
    ]);
    await eventually(() => (sub.status === 'failing' ? true : undefined), 10_000, 'the client subscription failing', 2);
    expect([...sub.rows.values()]).toEqual([{ timestamp: T, n: 1 }]);

    // It fails again on the next change: counted, but neither told again nor logged again.
    await publish(3, true);
    await eventually(
      async () =>
        / 2$/.test(await metric(new RegExp(`^statscache_plugin_view_failures_total\\{plugin="${IDENT}"\\}`)))
          ? true
          : undefined,
      10_000,
      'the second failed recompute',
    );
    expect(await metric(/^statscache_ws_views_failing /)).toBe('statscache_ws_views_failing 1');
    // A pong is sent after whatever that tick sent this connection.
    const beforePing = a.frames.length;
    a.send({ op: 'ping', id: 'p' });
    await a.next((f) => f.type === 'pong', 'the pong', beforePing);
    expect(a.of('error')).toHaveLength(1);
    expect(warnings()).toHaveLength(1);

    // A subscriber joining meanwhile gets the last good rows, then is told they are stale.
    const b = await RawClient.open(live.wsUrl);
    b.send({ op: 'subscribe', ident: IDENT, id: 'b' });
    await b.next((f) => f.type === 'error' && f.id === 'b', 'view_failed for the late subscriber', 0, 10_000);
    expect(b.frames.map((f) => [f.type, f['id'] ?? null, f['seq'] ?? null])).toEqual([
      ['hello', null, null],
      ['snapshot', 'b', snap.seq],
      ['error', 'b', snap.seq],
    ]);

    const lateStream = await openStream(`${live.base}/api/${IDENT}/stream`);
    await eventually(() => (lateStream.events.length >= 2 ? true : undefined), 10_000, 'the late stream told', 2);
    expect(lateStream.events.map((e) => [e.event, e.data['seq']])).toEqual([
      ['snapshot', snap.seq],
      ['view_failed', snap.seq],
    ]);
    lateStream.close();

    // It computes again: the next update follows the last good seq, and the rows kept plus it are the view.
    await publish(4);
    const update = (await a.next((f) => f.type === 'update', 'the update after recovery', 0, 10_000)) as Frame & {
      seq: number;
      rows: Record<string, unknown>[];
      removed: unknown[][];
    };
    expect(update.seq).toBe(snap.seq + 1);
    for (const k of update.removed) held.delete(JSON.stringify(k));
    for (const r of update.rows) held.set(keyOf(['n'], r), r);
    const http = await httpRows(live.base, IDENT);
    expect(http).toHaveLength(4);
    expect(new Map(http.map((r) => [keyOf(['n'], r), r]))).toEqual(held);
    await b.next((f) => f.type === 'update' && f['seq'] === snap.seq + 1, 'the late subscriber updated');
    await eventually(
      () => stream.events.find((e) => e.event === 'update' && e.data['seq'] === snap.seq + 1),
      10_000,
      'the SSE update',
      2,
    );
    await matchesHttp(live, sub);
    expect(sub.status).toBe('live');
    expect(client.stats).toMatchObject({ snapshots: 1, refusals: 0 });
    client.close();
    const recovered = logs.find((l) => l.msg.startsWith('live view computes again'));
    // Two states failed; a custom view is also recomputed as the clock moves its default stop (each second).
    expect(recovered).toMatchObject({ view: snap.view });
    expect(recovered?.failures).toBeGreaterThanOrEqual(2);

    // A second episode, ended by a state whose rows are the ones held: still an update, changing nothing.
    await publish(4, true);
    await a.next((f) => f.type === 'error' && f['seq'] === snap.seq + 1, 'the second episode told', 0, 10_000);
    await publish(4);
    const empty = await a.next((f) => f.type === 'update' && f['seq'] === snap.seq + 2, 'the empty update', 0, 10_000);
    expect(empty).toMatchObject({ rows: [], removed: [] });
    expect(a.of('error')).toHaveLength(2);
    // The second episode's start is a line though the plugin's period has not passed: its end was
    // logged, and a start throttled away would leave the next end with no beginning.
    expect(warnings()).toHaveLength(2);
    // Between the two: the late WebSocket subscriber and the late stream, each told view_failed.
    expect(warnings()[1]).toMatchObject({
      view: snap.view,
      seq: snap.seq + 1,
      via: 'live_view',
      failed_answers_since_last_line: 2,
    });
    expect(await metric(new RegExp(`^statscache_plugin_view_failures_total\\{plugin="${IDENT}"\\}`))).toMatch(/ 3$/);
    expect(await metric(/^statscache_ws_views_failing /)).toBe('statscache_ws_views_failing 0');
    a.close();
    b.close();
    stream.close();
  }, 60_000);
});

describe('a live view retired while its plugin view fails', () => {
  const svc = flakyService('flaky-retired');
  const { logs, publish } = svc;
  let live: Live;

  beforeAll(async () => {
    // Two views at most: opening a third retires the idle one, with no linger to wait out.
    live = svc.live = await startLive(
      { wsMaxViews: 2, wsMaxSubscriptionsPerIp: 1 },
      { plugins: [flaky], logger: svc.logger },
    );
  });
  afterAll(async () => {
    await live?.close();
  });

  it('logs the end of its failure episode, with the count, as a recovery does', async () => {
    await publish(1);
    const c = await RawClient.open(live.wsUrl);
    c.send({ op: 'subscribe', ident: IDENT, id: 1 });
    const snap = await c.next((f) => f.type === 'snapshot' && f.id === 1, 'the snapshot', 0, 10_000);
    await publish(2, true);
    await c.next((f) => f.type === 'error' && f.id === 1, 'view_failed', 0, 10_000);
    c.send({ op: 'unsubscribe', id: 1 });
    // Two more views, with the plugin computing again: opening the third retires the oldest idle one, the failing one.
    await publish(3);
    c.send({ op: 'subscribe', ident: IDENT, params: { start: T - 3600 }, id: 2 });
    await c.next((f) => f.type === 'snapshot' && f.id === 2, 'the second view', 0, 10_000);
    c.send({ op: 'unsubscribe', id: 2 });
    expect(live.service.hub.viewStats().retired).toBe(0);
    c.send({ op: 'subscribe', ident: IDENT, params: { start: T - 7200 }, id: 3 });
    await c.next((f) => f.type === 'snapshot' && f.id === 3, 'the third view', 0, 10_000);
    expect(live.service.hub.viewStats().retired).toBe(1);
    const failed = logs.findIndex((l) => l.level === WARN && l.via === 'live_view' && l.view === snap['view']);
    const ended = logs.filter((l) => l.view === snap['view'] && l.msg.startsWith('live view retired while failing'));
    expect(failed).toBeGreaterThanOrEqual(0);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ level: 30, failures: expect.any(Number) });
    expect(ended[0]?.failures).toBeGreaterThanOrEqual(1);
    expect(logs.indexOf(ended[0] as (typeof logs)[number])).toBeGreaterThan(failed);
    expect(logs.some((l) => l.view === snap['view'] && l.msg.startsWith('live view computes again'))).toBe(false);
    c.close();
  }, 60_000);
});

describe('a slow WebSocket client whose view starts failing', () => {
  const svc = flakyService('flaky-slow');
  const { publish } = svc;
  let live: Live;
  const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

  beforeAll(async () => {
    // Soft limit 64 KiB: a few fat rows (8 KB each) unread make the client slow.
    live = svc.live = await startLive(
      { wsMaxBufferedBytes: 64 * 1024, wsSlowTimeoutSeconds: 30 },
      { plugins: [flaky, fat], logger: svc.logger },
    );
  });
  afterAll(async () => {
    await live?.close();
  });

  it('is told view_failed once, with its resync snapshot, not also while it was off its views', async () => {
    await publish(1);
    const c = await RawClient.open(live.wsUrl);
    c.send({ op: 'subscribe', ident: 'fat-rows', id: 'fat' });
    c.send({ op: 'subscribe', ident: IDENT, id: 'flaky' });
    await c.next((f) => f.type === 'snapshot' && f.id === 'flaky', 'the snapshot', 0, 10_000);
    await c.next((f) => f.type === 'snapshot' && f.id === 'fat', 'the fat snapshot', 0, 10_000);

    // Stops reading until the hub takes it off its views' topics.
    socketOf(c).pause();
    let n = 0;
    await eventually(
      async () => {
        if (c.closed !== null) throw new Error(`closed while filling: ${JSON.stringify(c.closed)}`);
        await live.publish(fatBatch(4, n));
        n += 4;
        return live.service.hub.counts().slow > 0 ? true : undefined;
      },
      30_000,
      'the client to be marked slow',
    );
    await publish(2, true);
    await eventually(() => (live.service.hub.viewStats().failing === 1 ? true : undefined), 10_000, 'the failure');

    socketOf(c).resume();
    await c.next(
      (f) => f.type === 'snapshot' && f.id === 'flaky' && f['reason'] === 'resync',
      'the resync snapshot',
      0,
      10_000,
    );
    await eventually(() => (live.service.hub.counts().slow === 0 ? true : undefined), 10_000, 'the resync done');
    const before = c.frames.length;
    c.send({ op: 'ping', id: 'p' });
    await c.next((f) => f.type === 'pong', 'the pong', before);
    const told = c.frames.filter((f) => f.type === 'error' && f.id === 'flaky');
    expect(told).toHaveLength(1);
    // After the snapshot of the rows it names as the last good ones.
    const resync = c.frames.findIndex((f) => f.type === 'snapshot' && f.id === 'flaky' && f['reason'] === 'resync');
    expect(c.frames.indexOf(told[0] as Frame)).toBeGreaterThan(resync);
    expect(told[0]).toMatchObject({ error: 'view_failed', seq: c.frames[resync]?.['seq'] });
    c.close();
  }, 60_000);
});
