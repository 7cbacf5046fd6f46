/**
 * What the hang watch costs one read of a plugin's view on the main thread, in ns per call: the
 * `viewIsRows` gate alone (PluginRuntime.customView, asked once per HTTP request by the route
 * and again by the query), a query answered from the stored rows because `viewIsRows` said so,
 * and a query answered by a custom view already computed for this state (the view cache).
 * Watched (a beacon, as under --plugin-hang-timeout) and not. Not part of `npm test`.
 *   node dist/bench/view-call.js      (BENCH_CALLS, default 1 000 000)
 */
import { ApplyBeacon } from '../actors/apply-beacon.js';
import { definePlugin, rowsOf } from '../actors/plugin-api.js';
import { PluginHost } from '../actors/plugin-host.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { registerPlugins } from '../actors/registry.js';

const CALLS = Number(process.env['BENCH_CALLS'] ?? 1_000_000);

const plugin = definePlugin({
  name: 'Bench view',
  interval: '1d',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; user: string; n: number }>(),
  columns: ['user', 'n'],
  key: ['timestamp', 'user'],
  params: {
    user: { type: 'string', description: 'one user' },
    k: { type: 'integer', description: 'any' },
  },
  update(message, { rows, bucket }) {
    rows.put({ timestamp: bucket, user: message.topic, n: 1 });
  },
  view: (ctx, params) => [...ctx.rows.scan({ order: 'asc' })].filter((r) => r.user === params.user),
  viewIsRows: (params) => params.user === undefined,
});

function runtimeOf(watched: boolean): PluginRuntime {
  const host = new PluginHost(registerPlugins([plugin]), () => {});
  if (watched) host.watchHangs(new ApplyBeacon());
  const rt = host.runtimes[0] as PluginRuntime;
  for (let i = 0; i < 20; i++) rt.send({ topic: `u${i}`, timestamp: 1_700_000_000, body: {}, msgId: `m${i}` } as never);
  return rt;
}

function nsPerCall(f: (i: number) => unknown): number {
  for (let i = 0; i < CALLS / 10; i++) f(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / CALLS;
}

const q = (params: Record<string, unknown>) => ({ order: 'desc' as const, page: 1, rowsPerPage: 10, params });
for (const watched of [false, true]) {
  const rt = runtimeOf(watched);
  const gate = nsPerCall((i) => rt.customView({ k: i & 7 }));
  const rows = nsPerCall((i) => rt.query(q({ k: i & 7 })));
  const custom = nsPerCall(() => rt.query(q({ user: 'u3', k: 5 })));
  console.log(
    `${watched ? 'watched  ' : 'unwatched'}: viewIsRows gate ${gate.toFixed(0)} ns, rows query ${rows.toFixed(0)} ns, cached custom-view query ${custom.toFixed(0)} ns`,
  );
}
