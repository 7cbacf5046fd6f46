import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { eventually } from '../helpers/service-process.js';
import { serve, type Served } from './harness.js';

/**
 * A plugin whose view throws answered `500 view_failed` to every query while /readyz and /healthz
 * said ready with no `degraded` reason: the probes green, a dashboard panel broken for good. Now
 * the reason names the plugin (ready all the same: the other plugins answer), until a later
 * answer of its view succeeds; a client's bad parameter (400) marks nothing.
 */
const T = Math.floor(Date.now() / 1000) - 60;
const IDENT = 'fragile-view';
const fragile = definePlugin({
  name: 'Fragile view',
  summary: 'test plugin whose view fails while its latest message says so',
  description: 'Rows by n; the view throws while the latest message had fail: true.',
  topics: ['org.test.fragile'],
  rows: rowsOf<{ timestamp: number; n: number }>(),
  columns: ['n'],
  key: ['n'],
  params: { n: { type: 'integer', description: 'only this n', min: 0, max: 10 } },
  stores: { mode: store<string>() },
  update(m, { rows, stores }) {
    const body = m.body as { n: number; fail?: boolean };
    stores.mode.set('mode', body.fail === true ? 'fail' : 'ok');
    rows.put({ timestamp: T, n: body.n });
  },
  view({ rows, stores }, params) {
    if (stores.mode.get('mode') === 'fail') throw new Error(`told to fail by its latest message\n${'x'.repeat(500)}`);
    return [...rows.values()].filter((r) => params.n === undefined || r.n === params.n);
  },
});

type Ready = { status: string; degraded?: string };

describe('a plugin whose view fails, in /readyz and /healthz', () => {
  let s: Served;
  let sent = 0;
  const publish = (n: number, fail = false) =>
    s.publish([
      {
        topic: 'org.test.fragile',
        msg_id: `view-failing-health-${process.pid}-${++sent}`,
        timestamp: T,
        msg: fail ? { n, fail } : { n },
      },
    ]);
  const ready = async (): Promise<Ready> => {
    const res = await fetch(`${s.base}/readyz`);
    expect(res.status).toBe(200);
    return (await res.json()) as Ready;
  };
  const healthDegraded = async () =>
    ((await (await fetch(`${s.base}/healthz`)).json()) as { degraded?: string }).degraded ?? '';
  const gauge = async () =>
    (await (await fetch(`${s.base}/metrics`)).text())
      .split('\n')
      .find((l) => l.startsWith(`statscache_plugin_view_failing{plugin="${IDENT}"}`));
  const api = (query = '') => fetch(`${s.base}/api/${IDENT}${query}`);

  beforeAll(async () => {
    s = await serve([fragile]);
  });
  afterAll(async () => s?.close());

  it('names the plugin while its view fails, stays ready, and drops it once the view answers again', async () => {
    await publish(1);
    await eventually(async () => ((await (await api()).json()) as unknown[]).length === 1 || undefined, 10_000, 'n=1');
    expect((await ready()).degraded ?? '').not.toContain(IDENT);
    const gaugeBefore = await gauge();

    // A client's bad parameter is a 400 before the view is called: nothing to mark.
    const bad = await api('?n=99');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('bad_parameter');
    expect((await ready()).degraded ?? '').not.toContain(IDENT);
    const gaugeAfterBad = await gauge();

    await publish(2, true);
    const failed = await eventually(
      async () => {
        const res = await api();
        return res.status === 500 ? ((await res.json()) as { error: string }) : undefined;
      },
      10_000,
      'the view to fail',
    );
    expect(failed.error).toBe('view_failed');
    const during = await ready();
    expect(during.status).toBe('ready');
    const reason = during.degraded ?? '';
    expect(reason).toMatch(
      /plugin view failing \(500 view_failed to the queries that meet it; other plugins answer\): fragile-view \(told to fail by its latest message x+\u2026\)/,
    );
    // The error text is bounded (the plugin threw 500 more characters), on one line.
    expect(reason).not.toContain('\n');
    expect(reason.length).toBeLessThan(300);
    expect(await healthDegraded()).toContain(`${IDENT} (told to fail`);
    expect(gaugeBefore).toBe(`statscache_plugin_view_failing{plugin="${IDENT}"} 0`);
    expect(gaugeAfterBad).toBe(`statscache_plugin_view_failing{plugin="${IDENT}"} 0`);
    expect(await gauge()).toBe(`statscache_plugin_view_failing{plugin="${IDENT}"} 1`);
    // Still failing when asked again at the same state (the answer comes from the failure memo).
    expect((await api()).status).toBe(500);
    expect((await ready()).degraded).toContain(IDENT);

    // The state moves on and the view answers again: the reason is gone.
    await publish(3);
    await eventually(async () => (await api()).status === 200 || undefined, 10_000, 'the view to answer again');
    expect((await ready()).degraded ?? '').not.toContain(IDENT);
    expect(await healthDegraded()).not.toContain(IDENT);
    expect(await gauge()).toBe(`statscache_plugin_view_failing{plugin="${IDENT}"} 0`);
  });

  it('a live view (WebSocket) that fails to open marks it too, and its answering again clears it', async () => {
    await publish(4, true);
    await eventually(async () => (await api()).status === 500 || undefined, 10_000, 'the view to fail');
    // Answered again over HTTP first: cleared, so what marks it next is the WebSocket subscription.
    await publish(5);
    await eventually(async () => (await api()).status === 200 || undefined, 10_000, 'the view to answer');
    expect((await ready()).degraded ?? '').not.toContain(IDENT);
    await publish(6, true);
    // Waited on through /plugins' counters, not a query (that would mark it over HTTP).
    type Info = { ident: string; counters: { applied: number } };
    await eventually(
      async () => {
        const plugins = ((await (await fetch(`${s.base}/plugins`)).json()) as { plugins: Info[] }).plugins;
        return plugins.find((p) => p.ident === IDENT)?.counters.applied === sent || undefined;
      },
      10_000,
      'the failing message applied',
    );
    // /plugins counted the rows through the view (it threw): not a client's answer, nothing marked.
    expect((await ready()).degraded ?? '').not.toContain(IDENT);
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`);
    const frame = await new Promise<{ error?: string }>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, ident: IDENT, params: { n: 6 } })));
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as { type?: string; error?: string };
        if (f.type === 'error') resolve(f);
      });
    });
    ws.close();
    expect(frame.error).toBe('view_failed');
    expect((await ready()).degraded).toContain(`${IDENT} (told to fail`);
  });
});
