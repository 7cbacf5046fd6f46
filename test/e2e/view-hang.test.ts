import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LOOPING_VIEW_IDENT, LOOPING_VIEW_PLUGIN } from '../helpers/hanging-plugin.js';
import { pluginService } from '../helpers/plugin-service.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * A plugin's custom `view` runs on the main thread with parameters HTTP clients choose; one that
 * never returns for some of them (here a loop that any odd `?n=` never leaves) held the event loop for
 * good: no read, push or health probe was answered, and --plugin-hang-timeout watched only
 * `update`. The watch thread now sees the view computing past the timeout, records the (plugin,
 * parameters) pair in <data-dir>/hung-views.json and kills the process; the next start refuses
 * those parameters to that view (500 view_hung, over HTTP and for live views) and serves every
 * other parameter set, and /readyz names it.
 */
const PLUGIN = LOOPING_VIEW_PLUGIN;
const IDENT = LOOPING_VIEW_IDENT;

describe("a plugin's view that hangs on some parameters (--plugin-hang-timeout)", () => {
  const { dataDir, serve } = pluginService({ 'loops.mjs': PLUGIN }, { args: ['--plugin-hang-timeout', '1'] });

  it('ends the process, and the next start refuses those parameters to that view only', async () => {
    const first = await serve();
    await eventually(async () => ((await getJson(`${first.base}/readyz`)).status === 200 ? true : undefined));
    expect((await getJson(`${first.base}/api/${IDENT}?n=4`)).body).toEqual([{ timestamp: 1000, n: 4 }]);

    const exited = once(first.child, 'exit');
    // Never answered: the process is killed while the view runs.
    const hung = fetch(`${first.base}/api/${IDENT}?n=3`).then(
      (r) => r.status,
      () => 'no answer',
    );
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await hung).toBe('no answer');
    const recorded = JSON.parse(readFileSync(join(dataDir, 'hung-views.json'), 'utf8')) as {
      views: { plugin: string; params: string; timeout_seconds: number; view: string }[];
    };
    expect(recorded.views).toEqual([
      expect.objectContaining({ plugin: IDENT, params: '[["n",3]]', timeout_seconds: 1, view: expect.any(String) }),
    ]);
    // Written by the watch thread straight to stdout, in the logger's format, before the kill.
    const said =
      /the view of plugin \\"loops-on-seven-1d\\" has been computing for over --plugin-hang-timeout 1 s with parameters \[\[\\"n\\",3\]\]/;
    await eventually(() => (said.test(first.logs.join('\n')) ? true : undefined), 5_000, "the watch thread's log line");

    const second = await serve();
    await eventually(async () => ((await getJson(`${second.base}/readyz`)).status === 200 ? true : undefined));
    const refused = await getJson(`${second.base}/api/${IDENT}?n=3`);
    expect(refused.status).toBe(500);
    expect(refused.body).toEqual({
      error: 'view_hung',
      detail: expect.stringMatching(
        /^the view of plugin "loops-on-seven-1d" hung on these parameters \(\[\["n",3\]\]\) in an earlier run/,
      ),
    });
    // Live views are refused too (the SSE stream opens views as the WebSocket does).
    const stream = await getJson(`${second.base}/api/${IDENT}/stream?n=3`);
    expect(stream.status).toBe(500);
    expect((stream.body as { error: string }).error).toBe('view_hung');
    const ws = new WebSocket(`ws://127.0.0.1:${second.port}/ws`);
    const frames: { type: string; error?: string; detail?: string }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await once(ws, 'open');
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: { n: 3 } }));
    const wsError = await eventually(() => frames.find((f) => f.type === 'error'), 5_000, 'an error frame');
    expect(wsError).toMatchObject({ error: 'view_hung', detail: expect.stringContaining('loops-on-seven-1d') });
    ws.close();
    // Every other parameter set is served, by the same view.
    expect((await getJson(`${second.base}/api/${IDENT}?n=6`)).body).toEqual([{ timestamp: 1000, n: 6 }]);
    expect((await getJson(`${second.base}/healthz`)).status).toBe(200);
    const ready = (await getJson(`${second.base}/readyz`)).body as { degraded?: string };
    expect(ready.degraded).toMatch(/views refused .*: loops-on-seven-1d \(parameters \[\["n",3\]\], hung at 20/);
    const metrics = (await getJson(`${second.base}/metrics`)).body as string;
    expect(metrics).toMatch(/statscache_plugin_views_refused_total\{plugin="loops-on-seven-1d"\} 3/);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 90_000);
});

/**
 * `viewIsRows` is plugin code run with the clients' parameters too, asked before any view, and
 * was called outside the watch: one that never returned held the process for good.
 */
const DECLARING = `export default {
  name: 'Declares on seven', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp', 'n'],
  params: { n: { type: 'integer', description: 'a number', min: 0, max: 100 } },
  update() {},
  view(ctx, params) { return [{ timestamp: 1000, n: params.n ?? 0 }]; },
  viewIsRows(params) {
    const n = params.n ?? 0;
    for (let i = 0; i !== n; i += 2) {}
    return false;
  },
};`;
const DECLARING_IDENT = 'declares-on-seven-1d';

describe("a plugin's viewIsRows that hangs on some parameters (--plugin-hang-timeout)", () => {
  const { dataDir, serve } = pluginService(
    { 'declares.mjs': DECLARING },
    { args: ['--plugin-hang-timeout', '1'], ready: true },
  );

  it('ends the process, and the next start refuses those parameters', async () => {
    const first = await serve();
    expect((await getJson(`${first.base}/api/${DECLARING_IDENT}?n=4`)).body).toEqual([{ timestamp: 1000, n: 4 }]);
    const exited = once(first.child, 'exit');
    const hung = fetch(`${first.base}/api/${DECLARING_IDENT}?n=3`).then(
      (r) => r.status,
      () => 'no answer',
    );
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await hung).toBe('no answer');
    const recorded = JSON.parse(readFileSync(join(dataDir, 'hung-views.json'), 'utf8')) as { views: unknown[] };
    expect(recorded.views).toEqual([expect.objectContaining({ plugin: DECLARING_IDENT, params: '[["n",3]]' })]);

    const second = await serve();
    const refused = await getJson(`${second.base}/api/${DECLARING_IDENT}?n=3`);
    expect(refused.status).toBe(500);
    expect(refused.body).toEqual({
      error: 'view_hung',
      detail: expect.stringMatching(
        /^the view of plugin "declares-on-seven-1d" hung on these parameters \(\[\["n",3\]\]\)/,
      ),
    });
    expect((await getJson(`${second.base}/api/${DECLARING_IDENT}?n=6`)).body).toEqual([{ timestamp: 1000, n: 6 }]);
    expect((await getJson(`${second.base}/healthz`)).status).toBe(200);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
