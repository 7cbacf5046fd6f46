import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pluginService } from '../helpers/plugin-service.js';
import { getJson } from '../helpers/service-process.js';

/**
 * A plugin's custom view that fills the heap for one parameter value: V8 aborts the process,
 * nothing survives to name the request, and an HTTP client retrying it ended every run in turn.
 * The hang watch thread now writes down a view call held over 250 ms (<data-dir>/applying.json,
 * with the parameters); a start that finds it records a crash for that (view, parameters) in
 * hung-views.json and refuses them (500 view_hung) while every other parameter set and view
 * answers.
 */
const HOARDER = `export default {
  name: 'Hoards on seven', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  params: { n: { type: 'integer', description: 'a number', min: 0, max: 100 } },
  update() {},
  view(ctx, params) {
    const n = params.n ?? 0;
    if (n === 7) {
      const hoard = [];
      for (;;) hoard.push(new Array(512).fill(hoard.length));
    }
    return [{ timestamp: 1000, n }];
  },
};`;
const OTHER = `export default {
  name: 'Echoes', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  params: { n: { type: 'integer', description: 'a number', min: 0, max: 100 } },
  update() {},
  view(ctx, params) { return [{ timestamp: 1000, n: params.n ?? 0 }]; },
};`;
const IDENT = 'hoards-on-seven-1d';
/** A heap small enough to fill quickly, large enough for the service itself. */
const HEAP = { NODE_OPTIONS: '--max-old-space-size=256' };

describe("a plugin's view that makes the process die on some parameters (out of memory)", () => {
  const { dataDir, serve } = pluginService({ 'hoards.mjs': HOARDER, 'echoes.mjs': OTHER }, { env: HEAP, ready: true });

  it('dies once on it; the next start refuses those parameters to that view only and stays up', async () => {
    const first = await serve();
    expect((await getJson(`${first.base}/api/${IDENT}?n=4`)).body).toEqual([{ timestamp: 1000, n: 4 }]);
    const died = once(first.child, 'exit');
    const asked = fetch(`${first.base}/api/${IDENT}?n=7`).then(
      (r) => r.status,
      () => 'no answer',
    );
    const [code, signal] = (await died) as [number | null, NodeJS.Signals | null];
    expect(code === 0 && signal === null).toBe(false);
    expect(await asked).toBe('no answer');
    expect(first.logs.join('\n')).toMatch(/heap out of memory/);
    const mark = JSON.parse(readFileSync(join(dataDir, 'applying.json'), 'utf8')) as Record<string, unknown>;
    expect(mark).toMatchObject({
      plugin: IDENT,
      view_params: '[["n",7]]',
      view: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The heap's live share before the call: well short of full, so the death is the view's.
    expect(mark['heap_share']).toBeGreaterThanOrEqual(0);
    expect(mark['heap_share']).toBeLessThan(0.7);

    const second = await serve();
    expect(existsSync(join(dataDir, 'applying.json'))).toBe(false);
    const recorded = JSON.parse(readFileSync(join(dataDir, 'hung-views.json'), 'utf8')) as { views: unknown[] };
    expect(recorded.views).toEqual([
      expect.objectContaining({ plugin: IDENT, params: '[["n",7]]', view: mark['view'], crashed: true }),
    ]);
    expect(second.logs.join('\n')).toMatch(
      /the last run died while the view of plugin \\"hoards-on-seven-1d\\" computed/,
    );
    for (let i = 0; i < 2; i++) {
      const refused = await getJson(`${second.base}/api/${IDENT}?n=7`);
      expect(refused.status).toBe(500);
      expect(refused.body).toEqual({
        error: 'view_hung',
        detail: expect.stringMatching(
          /^the view of plugin "hoards-on-seven-1d" was computing with these parameters \(\[\["n",7\]\]\) when an earlier run died/,
        ),
      });
    }
    // Other parameters of that view, and other views, answer; the process is still up.
    expect((await getJson(`${second.base}/api/${IDENT}?n=6`)).body).toEqual([{ timestamp: 1000, n: 6 }]);
    expect((await getJson(`${second.base}/api/echoes-1d?n=7`)).body).toEqual([{ timestamp: 1000, n: 7 }]);
    expect((await getJson(`${second.base}/healthz`)).status).toBe(200);
    const ready = (await getJson(`${second.base}/readyz`)).body as { degraded?: string };
    expect(ready.degraded).toMatch(/views refused .*: hoards-on-seven-1d \(parameters \[\["n",7\]\], died at 20/);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dataDir, 'applying.json'))).toBe(false);
  }, 90_000);
});
