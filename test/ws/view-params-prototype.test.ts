import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { type Live, RawClient, startLive } from './harness.js';

/**
 * What a view reads as its `constructor` parameter, as a row. A view written the plain way
 * (`params.constructor`) must see the client's value or nothing: when the parsed parameters
 * were a plain object, an unset `constructor` read as Object.prototype's function.
 */
const echo = definePlugin({
  name: 'Echo params',
  summary: 'test plugin whose view echoes its parameters',
  description: 'One row telling what the view read as each parameter.',
  rows: rowsOf<{ timestamp: number; seen: string; proto: string; names: string }>(),
  columns: ['seen', 'proto', 'names'],
  key: ['seen'],
  params: {
    constructor: { type: 'string' as const, description: 'echoed back' },
  },
  update() {},
  view(_ctx, params) {
    const value: unknown = params.constructor;
    const seen =
      value === undefined ? 'unset' : typeof value === 'string' ? `set:${value}` : `inherited:${typeof value}`;
    const proto = Object.getPrototypeOf(params) === null ? 'null' : 'object';
    return [{ timestamp: 1, seen, proto, names: Object.keys(params).sort().join(',') }];
  },
});

/** The rows of the first snapshot of a WebSocket subscription to `echo-params` with `params`. */
async function wsRows(live: Live, params: Record<string, string>): Promise<Record<string, unknown>[]> {
  const c = await RawClient.open(live.wsUrl);
  try {
    c.send({ op: 'subscribe', ident: 'echo-params', params, id: 'e' });
    const f = await c.next((x) => x.type === 'snapshot' || x.type === 'error', 'snapshot of echo-params');
    expect(f.type, JSON.stringify(f)).toBe('snapshot');
    return f['rows'] as Record<string, unknown>[];
  } finally {
    c.close();
  }
}

async function httpRows(live: Live, query: string): Promise<{ status: number; rows: unknown }> {
  const res = await fetch(`${live.base}/api/echo-params${query}`);
  return { status: res.status, rows: await res.json() };
}

describe('a view reads its parameters without inherited members', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({}, { plugins: [echo] });
  }, 60_000);
  afterAll(async () => {
    await live?.close();
  });

  it('HTTP: unset `constructor` is undefined, set it is the client value', async () => {
    expect(await httpRows(live, '')).toEqual({
      status: 200,
      rows: [{ timestamp: 1, seen: 'unset', proto: 'null', names: '' }],
    });
    expect(await httpRows(live, '?constructor=abc')).toEqual({
      status: 200,
      rows: [{ timestamp: 1, seen: 'set:abc', proto: 'null', names: 'constructor' }],
    });
  });

  it('WebSocket: the same', async () => {
    expect(await wsRows(live, {})).toEqual([{ timestamp: 1, seen: 'unset', proto: 'null', names: '' }]);
    expect(await wsRows(live, { constructor: 'xyz' })).toEqual([
      { timestamp: 1, seen: 'set:xyz', proto: 'null', names: 'constructor' },
    ]);
  });
});
