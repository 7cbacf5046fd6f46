import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pluginService } from '../helpers/plugin-service.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * Registration refuses an async `view` or `viewIsRows`, and `update` refuses a returned promise
 * (actors/plugin-runtime.ts), but a plain `view` or `viewIsRows` that returned a promise was
 * taken as an answer: a view of no rows (500 over HTTP), or "not the rows". When that promise
 * rejected, nobody handled it, and Node ended the process for the unhandled rejection: one GET
 * /api/<ident> with the parameters that made it so took the service down (no final snapshot, every
 * client cut off). Such an answer now fails that query only, as a view that throws does.
 */
const PLUGIN = `export default {
  name: 'Promises in views', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp', 'n'],
  params: { mode: { type: 'string', description: 'what the view returns' } },
  update() {},
  viewIsRows(params) {
    if (params.mode === 'rows-reject') return Promise.reject(new Error('viewIsRows rejected'));
    return false;
  },
  view(ctx, params) {
    if (params.mode === 'reject') return Promise.reject(new Error('view rejected'));
    return [{ timestamp: 1000, n: 1 }];
  },
};`;
const IDENT = 'promises-in-views-1d';

describe("a plugin's view or viewIsRows that returns a promise which rejects", () => {
  const { serve } = pluginService({ 'promises.mjs': PLUGIN }, { ready: true });

  it('fails that query only (HTTP and WebSocket); the process goes on serving', async () => {
    const svc = await serve();
    expect((await getJson(`${svc.base}/api/${IDENT}`)).body).toEqual([{ timestamp: 1000, n: 1 }]);
    for (const mode of ['reject', 'rows-reject']) {
      const failed = await getJson(`${svc.base}/api/${IDENT}?mode=${mode}`);
      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({ error: expect.any(String), detail: expect.any(String) });
      // The rejection would end the process right after the answer (before any later I/O).
      const health = await getJson(`${svc.base}/healthz`);
      expect(health.status).toBe(200);
      expect(svc.child.exitCode).toBeNull();
    }
    const ws = new WebSocket(`ws://127.0.0.1:${svc.port}/ws`);
    const frames: { type: string; id?: number; error?: string; detail?: string }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await once(ws, 'open');
    // Fresh parameters: the HTTP answers above are not the ones the live view computes.
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: { mode: 'reject', order: 'asc' }, id: 1 }));
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: { mode: 'rows-reject', order: 'asc' }, id: 2 }));
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: {}, id: 3 }));
    const answered = await eventually(
      () => (frames.filter((f) => f.id !== undefined).length === 3 ? frames : undefined),
      10_000,
      'an answer to each subscription',
    );
    expect(answered.find((f) => f.id === 1)).toMatchObject({ type: 'error', error: 'view_failed' });
    expect(answered.find((f) => f.id === 2)).toMatchObject({ type: 'error', error: 'view_failed' });
    expect(answered.find((f) => f.id === 3)).toMatchObject({ type: 'snapshot', rows: [{ timestamp: 1000, n: 1 }] });
    ws.close();
    expect((await getJson(`${svc.base}/healthz`)).status).toBe(200);
    expect((await getJson(`${svc.base}/api/${IDENT}`)).body).toEqual([{ timestamp: 1000, n: 1 }]);
    expect(await svc.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
