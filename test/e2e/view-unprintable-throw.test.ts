import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pluginService } from '../helpers/plugin-service.js';
import { eventually, getJson } from '../helpers/service-process.js';

/**
 * A view that throws is a view_failed error frame for the subscription that asked for it. Its
 * detail was made with String() of what was thrown; a value without a printable message (a
 * null-prototype object, a message whose toString throws) made that throw in turn, out of the
 * subscribe handler: the error was logged as the server's own, and the client was sent nothing
 * at all for its subscription, neither the error nor a snapshot.
 */
const PLUGIN = `export default {
  name: 'Throws oddly', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  params: { mode: { type: 'string', description: 'what the view throws' } },
  update() {},
  view(ctx, params) {
    if (params.mode === 'bare') throw Object.create(null);
    if (params.mode === 'message') throw { message: { toString() { throw new Error('unprintable'); } } };
    return [{ timestamp: 1000, n: 1 }];
  },
};`;
const IDENT = 'throws-oddly-1d';

describe('a view that throws a value with no printable message', () => {
  const { serve } = pluginService({ 'throws.mjs': PLUGIN }, { ready: true });

  it('is a view_failed error frame for that subscription, and the others are answered', async () => {
    const svc = await serve();
    const ws = new WebSocket(`ws://127.0.0.1:${svc.port}/ws`);
    const frames: { type: string; id?: number; error?: string; detail?: string }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await once(ws, 'open');
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: { mode: 'bare' }, id: 1 }));
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: { mode: 'message' }, id: 2 }));
    ws.send(JSON.stringify({ op: 'subscribe', ident: IDENT, params: {}, id: 3 }));
    // The third is answered after the first two (one connection's frames are handled in order).
    await eventually(() => (frames.some((f) => f.id === 3) ? true : undefined), 10_000, 'the third answered');
    expect(frames.find((f) => f.id === 1)).toMatchObject({
      type: 'error',
      error: 'view_failed',
      detail: expect.stringContaining(IDENT),
    });
    expect(frames.find((f) => f.id === 2)).toMatchObject({ type: 'error', error: 'view_failed' });
    expect(frames.find((f) => f.id === 3)).toMatchObject({ type: 'snapshot', rows: [{ timestamp: 1000, n: 1 }] });
    ws.close();
    // Over HTTP, as before: a 500 for those parameters.
    expect((await getJson(`${svc.base}/api/${IDENT}?mode=bare`)).status).toBe(500);
    expect(await svc.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
