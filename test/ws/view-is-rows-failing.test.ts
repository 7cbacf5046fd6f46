import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { RawClient, startLive, type Live } from './harness.js';

/**
 * A plugin's `viewIsRows` is plugin view code run with a client's parameters, as `view` is. One
 * that threw (or returned a promise, which rejected) failed the query like a throwing view, but
 * was not counted in statscache_plugin_view_failures_total, and over HTTP both were a bare
 * `500 internal` ("see the server log") with the plugin's stack logged as the server's own
 * error on every request. Both are now `500 view_failed` naming the view, counted alike, and a
 * live subscriber is told `view_failed` once.
 */
const choosy = definePlugin({
  name: 'Choosy rows',
  interval: '1m',
  summary: 'test plugin whose viewIsRows or view fails for some parameters',
  description: 'viewIsRows throws, or rejects, or view throws, as the mode parameter says.',
  topics: ['org.test.choosy'],
  rows: rowsOf<{ timestamp: number; n: number }>(),
  columns: ['n'],
  key: ['n'],
  params: { mode: { type: 'string', description: 'how it fails' } },
  update(m, { rows }) {
    rows.put({ timestamp: 1000, n: (m.body as { n: number }).n });
  },
  viewIsRows(params) {
    if (params.mode === 'throw') throw new Error('viewIsRows refused these parameters');
    if (params.mode === 'reject') return Promise.reject(new Error('viewIsRows rejected')) as unknown as boolean;
    return params.mode === undefined;
  },
  view({ rows }, params) {
    if (params.mode === 'view') throw new Error('view refused these parameters');
    return [...rows.values()];
  },
});
const IDENT = 'choosy-rows-1m';

describe("a plugin's viewIsRows that throws or returns a rejecting promise", () => {
  let live: Live;
  const logs: { level: number; msg: string; plugin?: string; err?: string }[] = [];
  const failures = async (): Promise<string> => {
    const text = await (await fetch(`${live.base}/metrics`)).text();
    return text.split('\n').find((l) => l.startsWith(`statscache_plugin_view_failures_total{plugin="${IDENT}"}`)) ?? '';
  };

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    live = await startLive({}, { plugins: [choosy], logger });
  });
  afterAll(async () => {
    await live?.close();
  });

  it('is a 500 view_failed naming the view over HTTP, counted as a failing view is, and view_failed to a subscriber', async () => {
    expect(await failures()).toMatch(/ 0$/);
    const cases = [
      ['throw', 'viewIsRows refused these parameters'],
      ['reject', 'viewIsRows returned a promise'],
      ['view', 'view refused these parameters'],
    ] as const;
    let counted = 0;
    for (const [mode, message] of cases) {
      // Asked twice: the failure is remembered for these parameters, so it is counted once.
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${live.base}/api/${IDENT}?mode=${mode}`);
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({
          error: 'view_failed',
          detail: expect.stringMatching(new RegExp(`^the view of ${IDENT} failed: .*${message}`)),
        });
      }
      counted++;
      expect(await failures()).toMatch(new RegExp(` ${counted}$`));
    }
    // The operator gets the plugin's stack once, not a line per failed answer (six here).
    const warned = logs.filter((l) => l.plugin === IDENT && l.msg.includes('failed over HTTP'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({
      level: 40,
      err: expect.stringMatching(/viewIsRows refused these parameters\n\s+at /),
    });

    const ws = await RawClient.open(live.wsUrl);
    ws.send({ op: 'subscribe', ident: IDENT, params: { mode: 'throw', order: 'asc' }, id: 1 });
    ws.send({ op: 'subscribe', ident: IDENT, params: {}, id: 2 });
    await ws.next((f) => f.id === 2, 'the second subscription answered', 0, 10_000);
    expect(ws.frames.filter((f) => f.id === 1)).toEqual([
      expect.objectContaining({
        type: 'error',
        error: 'view_failed',
        ident: IDENT,
        detail: expect.stringContaining('viewIsRows refused these parameters'),
      }),
    ]);
    expect(ws.frames.find((f) => f.id === 2)).toMatchObject({ type: 'snapshot' });
    ws.close();
    // Those parameters were asked over HTTP already: the failure is the one remembered.
    expect(await failures()).toMatch(/ 3$/);
    expect((await fetch(`${live.base}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe('viewIsRows failures in a runtime without a hang watch', () => {
  it('are counted per failed call, as nothing remembers them', () => {
    const host = new PluginHost(registerPlugins([choosy]), () => {});
    const rt = host.get(IDENT)!;
    expect(rt.customView({})).toBe(false);
    expect(() => rt.customView({ mode: 'throw' })).toThrow('viewIsRows refused these parameters');
    expect(() => rt.customView({ mode: 'reject' })).toThrow('viewIsRows returned a promise');
    expect(rt.viewFailures).toBe(2);
    expect(() => rt.customView({ mode: 'throw' })).toThrow('viewIsRows refused these parameters');
    expect(rt.viewFailures).toBe(3);
    host.stop();
  });
});
