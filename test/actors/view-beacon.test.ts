/**
 * The runtime's side of watching views (--plugin-hang-timeout), on a real PluginHost: while a
 * plugin's custom view computes (its generator's rows taken included), the beacon names that
 * plugin and the parameters as the record keeps them, and names none once it returned or threw;
 * the message slots are left alone. A view that hung on some parameters in an earlier run is not
 * called with them again (ViewHungBefore, counted) while every other parameter set is.
 */
import { describe, expect, it } from 'vitest';
import {
  ApplyBeacon,
  BEACON,
  readViewBeacon,
  readViewParams,
  sameView,
  type ViewReading,
  viewParamsText,
} from '../../actors/apply-beacon.js';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { MAX_ROWS_DECLARED, type PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins } from '../../actors/registry.js';
import { ViewHungBefore } from '../../actors/view-cache.js';

let beacon: ApplyBeacon | null = null;
const seen: { reading: ViewReading; params: string | null }[] = [];
const look = () => {
  if (beacon === null) return;
  const reading = readViewBeacon(beacon.slots);
  seen.push({ reading, params: readViewParams(beacon.buffer, reading) });
};

const viewing = (name: string) =>
  definePlugin({
    name,
    summary: 's',
    description: 'd',
    rows: rowsOf<{ timestamp: number; n: number }>(),
    columns: ['n'],
    key: ['timestamp'],
    params: {
      n: { type: 'integer', description: 'n' },
      s: { type: 'string', description: 's', maxLength: 10_000 },
      fail: { type: 'boolean', description: 'throws' },
    },
    update() {},
    // A generator: its body runs as the runtime takes its rows, and must be inside the watch too.
    *view(_ctx, params) {
      look();
      if (params.fail) throw new Error('view failed');
      yield { timestamp: 1, n: params.n ?? 0 };
      look();
    },
  });

const hostOf = () => new PluginHost(registerPlugins([viewing('a'), viewing('b')]), () => {});
const page = (rt: PluginRuntime, params: Record<string, unknown>) =>
  rt.query({ order: 'desc', page: 1, rowsPerPage: 10, params });

describe('the view beacon', () => {
  it('names the plugin and parameters while its view computes, and nothing after', () => {
    const host = hostOf();
    beacon = new ApplyBeacon();
    seen.length = 0;
    host.watchHangs(beacon);
    const [a, b] = host.runtimes as [PluginRuntime, PluginRuntime];
    page(b, { n: 3, s: 'x' });
    page(a, {});
    // Computed once per state and parameters: the second read is the kept view, never marked.
    page(b, { s: 'x', n: 3 });
    expect(() => page(a, { fail: true })).toThrow('view failed');
    expect(seen.map((s) => [s.reading.plugin, s.reading.views, s.params])).toEqual([
      [1, 1, '[["n",3],["s","x"]]'],
      [1, 1, '[["n",3],["s","x"]]'],
      [0, 2, '[]'],
      [0, 2, '[]'],
      [0, 3, '[["fail",true]]'],
    ]);
    const idle = readViewBeacon(beacon.slots);
    expect(idle).toEqual({ plugin: -1, views: 3 });
    expect(sameView(idle, idle)).toBe(false);
    expect(readViewParams(beacon.buffer, idle)).toBe(null);
    // A look taken during one call does not match the next: its parameters are not read for it.
    expect(sameView(seen[0]?.reading as ViewReading, seen[1]?.reading as ViewReading)).toBe(true);
    expect(sameView(seen[0]?.reading as ViewReading, seen[2]?.reading as ViewReading)).toBe(false);
    // Views leave the message slots alone.
    expect([beacon.slots[BEACON.plugin], beacon.slots[BEACON.seq], beacon.slots[BEACON.batches]]).toEqual([-1, 0, 0]);
    // Long parameters: the bounded text, as the record keeps it.
    const long = 'é'.repeat(5000);
    page(b, { s: long });
    expect(seen.at(-1)?.params).toBe(viewParamsText(JSON.stringify([['s', long]])));
    expect(Buffer.byteLength(seen.at(-1)?.params ?? '')).toBeLessThanOrEqual(1024);
    beacon = null;
  });
});

describe('views that hung on some parameters in an earlier run', () => {
  it('are not called with those parameters again, and are with any other', () => {
    const host = hostOf();
    seen.length = 0;
    beacon = new ApplyBeacon();
    host.watchHangs(beacon);
    const long = 'x'.repeat(3000);
    host.refuseHungViews([
      { ident: 'b', params: '[["n",3]]', at: '2026-12-03T00:00:00.000Z' },
      { ident: 'b', params: viewParamsText(JSON.stringify([['s', long]])), at: '2026-12-03T00:00:01.000Z' },
      { ident: 'gone', params: '[]', at: '2026-12-03T00:00:00.000Z' },
    ]);
    const [a, b] = host.runtimes as [PluginRuntime, PluginRuntime];
    let refused: unknown;
    try {
      page(b, { n: 3 });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ViewHungBefore);
    expect(refused).toMatchObject({ ident: 'b', params: '[["n",3]]', at: '2026-12-03T00:00:00.000Z' });
    expect((refused as Error).message).toMatch(/^the view of plugin "b" hung on these parameters \(\[\["n",3\]\]\)/);
    // Asked again, refused again (a refusal is not kept as the state's answer), never called.
    expect(() => page(b, { n: 3 })).toThrow(ViewHungBefore);
    expect(() => page(b, { s: long })).toThrow(ViewHungBefore);
    expect(seen).toEqual([]);
    expect(b.viewsRefused).toBe(3);
    expect(b.viewStats.computed).toBe(0);
    // Other parameters, and the same ones on another plugin, are computed.
    expect(page(b, { n: 4 }).rows).toEqual([{ timestamp: 1, n: 4 }]);
    expect(page(b, { s: `${long}y` }).rows).toEqual([{ timestamp: 1, n: 0 }]);
    expect(page(a, { n: 3 }).rows).toEqual([{ timestamp: 1, n: 3 }]);
    expect(a.viewsRefused).toBe(0);
    // /plugins' count and the dashboard ask for the default parameters: not refused here.
    expect(b.defaultRowCount()).toBe(1);
    beacon = null;
  });

  it('refuse every call once one view hung on three parameter sets, so finding more values that hang ends no more runs', () => {
    const host = hostOf();
    beacon = new ApplyBeacon();
    host.watchHangs(beacon);
    const hung = (ident: string, n: number, second: number) => ({
      ident,
      params: `[["n",${n}]]`,
      at: `2026-12-03T00:00:0${second}.000Z`,
    });
    host.refuseHungViews([hung('a', 1, 1), hung('a', 3, 2), hung('b', 1, 1), hung('b', 3, 3), hung('b', 5, 2)]);
    const [a, b] = host.runtimes as [PluginRuntime, PluginRuntime];
    seen.length = 0;
    let refused: unknown;
    try {
      page(b, { n: 4 });
    } catch (err) {
      refused = err;
    }
    // Any parameters, those it never hung on included; named with the latest hang.
    expect(refused).toMatchObject({ ident: 'b', params: '[["n",4]]', at: '2026-12-03T00:00:03.000Z', whole: true });
    expect((refused as Error).message).toMatch(
      /hung, or a run died in it, on 3 or more different parameter sets in earlier runs .* not called at all/,
    );
    expect(() => page(b, { n: 1 })).toThrow(ViewHungBefore);
    expect(() => page(b, {})).toThrow(ViewHungBefore);
    expect(b.viewStats.computed).toBe(0);
    expect(seen).toEqual([]);
    // Two sets: only those two are refused.
    expect(() => page(a, { n: 3 })).toThrow(ViewHungBefore);
    expect(page(a, { n: 4 }).rows).toEqual([{ timestamp: 1, n: 4 }]);
    beacon = null;
  });
});

describe("a plugin's viewIsRows", () => {
  const asked: string[] = [];
  const declaring = definePlugin({
    name: 'declaring',
    summary: 's',
    description: 'd',
    rows: rowsOf<{ timestamp: number; n: number }>(),
    columns: ['n'],
    key: ['timestamp', 'n'],
    params: { n: { type: 'integer', description: 'n' } },
    update() {},
    view: (_ctx, params) => [{ timestamp: 1, n: params.n ?? 0 }],
    // Plugin code run with the clients' parameters before any view: watched as the view is.
    viewIsRows(params) {
      look();
      asked.push(JSON.stringify(params));
      return params.n === undefined;
    },
  });

  it('is marked in the beacon while it runs, asked once per parameter set, and refused parameters it hung on', () => {
    const host = new PluginHost(registerPlugins([viewing('a'), declaring]), () => {});
    beacon = new ApplyBeacon();
    host.watchHangs(beacon);
    const rt = host.runtimes[1] as PluginRuntime;
    seen.length = 0;
    asked.length = 0;
    expect(page(rt, {}).rows).toEqual([]);
    expect(page(rt, { n: 2 }).rows).toEqual([{ timestamp: 1, n: 2 }]);
    expect(seen.map((s) => [s.reading.plugin, s.params])).toEqual([
      [1, '[]'],
      [1, '[["n",2]]'],
    ]);
    expect(readViewBeacon(beacon.slots).plugin).toBe(-1);
    // Its answer is kept per parameter set: asked again, not called again (nor marked).
    expect(rt.customView({ n: 2 })).toBe(true);
    expect(rt.customView({})).toBe(false);
    expect(asked).toEqual(['{}', '{"n":2}']);
    // At most MAX_ROWS_DECLARED answers kept: past them it starts over and asks again.
    for (let n = 3; n < MAX_ROWS_DECLARED + 1; n++) rt.customView({ n });
    expect(asked).toHaveLength(MAX_ROWS_DECLARED);
    rt.customView({ n: 2 });
    expect(asked).toHaveLength(MAX_ROWS_DECLARED);
    rt.customView({ n: 1000 });
    rt.customView({ n: 2 });
    expect(asked.slice(-2)).toEqual(['{"n":1000}', '{"n":2}']);

    host.refuseHungViews([{ ident: 'declaring', params: '[["n",9]]', at: '2026-12-03T00:00:00.000Z' }]);
    asked.length = 0;
    expect(() => rt.customView({ n: 9 })).toThrow(ViewHungBefore);
    expect(() => page(rt, { n: 9 })).toThrow(
      /the view of plugin "declaring" hung on these parameters \(\[\["n",9\]\]\)/,
    );
    expect(rt.customView({ n: 2 })).toBe(true);
    expect(asked).toEqual(['{"n":2}']);
    expect(rt.viewsRefused).toBe(2);
    beacon = null;
  });
});
