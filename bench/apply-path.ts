/**
 * The per-message path of the plugin runtime, before vs after in the same run: each message
 * applied directly by the runtime (now) or sent through an XState actor whose transition
 * applies it (how every message went before the lifecycle machine took XState's place).
 * A plugin that allocates nothing itself (it bumps a number in a store) isolates the
 * runtime's own cost; allocation is measured with v8.GCProfiler. Not part of `npm test`.
 *
 * `builtins`: the fixture messages, re-stamped one second apart, through every built-in
 * plugin (router and meta done beforehand), so the figure is the plugins' and containers'
 * cost per message: what bounds replay. Compare it across commits by running both builds
 * alternately on one machine.
 *
 * The per-plugin breakdown (plugin-breakdown.ts): each built-in plugin alone over the messages the
 * router offers it, as replay applies them, its CPU µs and bytes per message net of a host with
 * no plugin, costliest first; and what the router and meta cost a message before any plugin.
 *   node dist/bench/apply-path.js
 *   APPLY_PATH_ONLY=breakdown node dist/bench/apply-path.js   (only the breakdown; BENCH_PLUGINS=ident,… picks plugins)
 *   APPLY_PATH_ONLY=builtins node dist/bench/apply-path.js    (only one batched run of every built-in)
 *   APPLY_PATH_ONLY=scaling [BENCH_SCALING_K=1,2,4,8,16,27] node dist/bench/apply-path.js
 *     k plugins together against the sum of each alone, CPU and GC per message (plugin-scaling.ts)
 *   APPLY_PATH_ONLY=count BENCH_ROUNDS=1|2 [BENCH_PLUGINS=…] node --single-threaded dist/bench/apply-path.js
 *     under callgrind: instructions(2) − instructions(1), over the messages applied it prints, is the
 *     cost per message applied (set-up and warm-up cancel out; bench/plugin-breakdown.ts, countRuns)
 */
import { createActor, fromTransition } from 'xstate';
import { ApplyBeacon } from '../actors/apply-beacon.js';
import { PluginHost } from '../actors/plugin-host.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { registerPlugins } from '../actors/registry.js';
import { readFileSync } from 'node:fs';
import type { PluginMessage } from '../actors/plugin-api.js';
import { builtinPlugins } from '../plugins/index.js';
import type { Envelope } from '../src/envelope.js';
import { createPluginMessage } from '../src/message.js';
import { deriveMeta } from '../src/meta/index.js';
import { createRouter } from '../src/router.js';
import { heapAllocatedBy } from './heap-allocated.js';
import { countRuns, pluginBreakdown } from './plugin-breakdown.js';
import { breakdownTable } from './plugin-breakdown-table.js';
import { pluginScaling, scalingTable } from './plugin-scaling.js';
import { countingPlugin } from './fixture-journal.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 2_000_000);
const counter = countingPlugin;
const messages = Array.from({ length: 64 }, (_, i) =>
  createPluginMessage({ topic: 'a.b.c.d', timestamp: 1_000 + i, msg: {} }, deriveMeta),
);

/** Runs `apply` N times; returns messages per second and bytes allocated per message. */
function measure(apply: (i: number) => void) {
  for (let i = 0; i < 200_000; i++) apply(i); // warm up
  const {
    result: ms,
    bytes,
    gcs,
  } = heapAllocatedBy(() => {
    const t = performance.now();
    for (let i = 0; i < N; i++) apply(i);
    return performance.now() - t;
  });
  return {
    per_s: Math.round((N * 1000) / ms),
    bytes_per_message: +(bytes / N).toFixed(1),
    gcs,
  };
}

function host(): PluginRuntime {
  return new PluginHost(registerPlugins([counter]), () => {}).runtimes[0] as PluginRuntime;
}

const direct = host();
const viaActor = host();
// The old path: one XState actor per plugin, every message an event through its transition.
const actor = createActor(
  fromTransition((s: number, e: { type: 'message'; i: number }) => {
    viaActor.send(messages[e.i & 63]!);
    return s;
  }, 0),
);
actor.start();

const results: Record<string, unknown> = {};
const ONLY = process.env['APPLY_PATH_ONLY'] ?? '';
// Alternate twice so neither path gets a warmer machine.
for (const round of ONLY === '' ? [1, 2] : []) {
  results[`direct_${round}`] = measure((i) => direct.send(messages[i & 63]!));
  results[`xstate_send_${round}`] = measure((i) => actor.send({ type: 'message', i }));
}
// Every built-in plugin, fresh state per round; the same messages each round.
const B = Number(process.env['BENCH_BUILTIN_MESSAGES'] ?? 60_000);
const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Envelope);
const routed: [PluginMessage, number[]][] = [];
// Only the runs below read these: counting (callgrind) without them halves what each count's set-up costs.
if (ONLY === '' || ONLY === 'builtins') {
  const route = createRouter(new PluginHost(registerPlugins(builtinPlugins()), () => {}).runtimes.map((r) => r.plugin));
  for (let i = 0; i < B; i++) {
    const e = samples[i % samples.length] as Envelope;
    const m = createPluginMessage({ ...e, timestamp: 1_700_000_000 + i, msg_id: `bench-${i}` }, deriveMeta);
    void m.meta.usernames; // derived now, not inside the timed loop
    void m.meta.packages;
    routed.push([m, [...route(e.topic)]]);
  }
}
for (const round of ONLY === '' ? [1, 2, 3] : []) {
  const builtins = new PluginHost(registerPlugins(builtinPlugins()), () => {}, { checkValues: false });
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (const [m, targets] of routed) builtins.dispatch(m, targets);
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  // Per CPU second as well: on a shared machine the process's own CPU time varies far less than the wall clock.
  results[`builtins_${round}`] = {
    per_s: Math.round((B * 1000) / ms),
    per_cpu_s: Math.round((B * 1e6) / (used.user + used.system)),
    plugins: builtins.runtimes.length,
  };
  builtins.stop();
}
// The service's path: batches of 512 through queue()/applyQueued(), with and without the apply
// beacon the hang watch reads (--plugin-hang-timeout; apply-beacon.ts), alternated.
function batched(watched: boolean) {
  const h = new PluginHost(registerPlugins(builtinPlugins()), () => {}, { checkValues: false });
  if (watched) h.watchHangs(new ApplyBeacon());
  const cpu = process.cpuUsage();
  for (let s = 0; s < routed.length; s += 512) {
    for (let j = s; j < s + 512 && j < routed.length; j++) {
      const [m, targets] = routed[j] as [PluginMessage, number[]];
      h.queue(m, targets, j + 1);
    }
    h.applyQueued();
  }
  const used = process.cpuUsage(cpu);
  h.stop();
  return Math.round((B * 1e6) / (used.user + used.system));
}
for (const round of ONLY === '' ? [1, 2, 3] : []) {
  results[`batched_per_cpu_s_${round}`] = batched(false);
  results[`batched_watched_per_cpu_s_${round}`] = batched(true);
}
if (ONLY === 'builtins') results['batched_per_cpu_s'] = batched(false);
if (ONLY === '' || ONLY === 'breakdown' || ONLY === 'count' || ONLY === 'scaling') {
  // Messages as replay hands them to the built-ins: not frozen (src/message.ts), meta derived.
  const fresh = (i: number) => {
    const e = samples[i % samples.length] as Envelope;
    return createPluginMessage(
      { ...e, timestamp: 1_700_000_000 + i, msg_id: `bench-${i}` },
      deriveMeta,
      undefined,
      false,
    );
  };
  const route = createRouter(registerPlugins(builtinPlugins()));
  // The router and meta alone, no plugin: what a message costs before any plugin sees it.
  const front: number[] = [];
  for (let r = 0; r < (ONLY === 'count' || ONLY === 'scaling' ? 0 : 3); r++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < B; i++) {
      const m = fresh(i);
      void m.meta;
      route(m.topic);
    }
    const used = process.cpuUsage(cpu);
    front.push((used.user + used.system) / B);
  }
  const offered = Array.from({ length: B }, (_, i) => {
    const m = fresh(i);
    void m.meta;
    return [m, route(m.topic)] as const;
  });
  const only = (process.env['BENCH_PLUGINS'] ?? '').split(',').filter((x) => x !== '');
  if (ONLY === 'scaling') {
    const ks = (process.env['BENCH_SCALING_K'] ?? '1,2,4,8,16,27').split(',').map(Number);
    const rows = pluginScaling(builtinPlugins, offered, Number(process.env['BENCH_ROUNDS'] ?? 3), ks);
    console.log(scalingTable(rows));
    console.log(JSON.stringify({ builtin_messages: B, scaling: rows }));
    process.exit(0);
  }
  if (ONLY === 'count') {
    console.log(JSON.stringify(countRuns(builtinPlugins, offered, Number(process.env['BENCH_ROUNDS'] ?? 1), only)));
    process.exit(0);
  }
  const breakdown = pluginBreakdown(builtinPlugins, offered, Number(process.env['BENCH_ROUNDS'] ?? 5), only);
  console.log(breakdownTable(breakdown));
  console.log(`router + meta, no plugin: ${Math.min(...front).toFixed(3)} µs per message (least of 3)`);
  results['router_meta_us'] = +Math.min(...front).toFixed(3);
  results['breakdown'] = breakdown;
}
console.log(JSON.stringify({ messages: N, builtin_messages: B, ...results }));
