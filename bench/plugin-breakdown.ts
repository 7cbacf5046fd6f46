/**
 * Where applying a message costs: every built-in plugin run alone over the messages the router
 * offers it, as replay applies them (digests deferred, lifecycle `replaying`, batches of 512
 * through queue()/applyQueued(), values unchecked as the service runs the built-ins), against
 * a baseline of the same batches through a host with no plugin. Each plugin's CPU and bytes
 * allocated per message offered, and its share of a fixture message (times the fraction of
 * messages it is offered): the shares add up to what the 27 plugins cost together.
 *
 * CPU is the process's (process.cpuUsage), the least of `rounds` runs, plugins taken in turn
 * each round: on a shared machine other work only ever adds to a run, so the least is the
 * estimate least disturbed. Bytes are the heap's growth plus what the collector freed
 * (v8.GCProfiler), so state kept counts as well as garbage.
 *
 * GC: the main thread's µs in collections during that least run (v8.GCProfiler; the parallel
 * scavenger's helper threads add CPU beyond it). A plugin alone allocates less than one young
 * generation over the fixture (two 16 MiB semi-spaces; volume-1s ~13 MB), so a round of the 27
 * alone has ~11 scavenges among its 27 runs, each landing in whichever run filled the young
 * generation, and the least of a plugin's rounds is one without: the "sum of the plugins" is a
 * sum of GC-free runs. All 27 together allocate ~170 MB, ~15 scavenges copying ~145 MB (the
 * state being built, twice: within the young generation, then into the old). "plugins alone,
 * one round summed" adds each round's runs (GC included where it fell): it comes out near "all
 * plugins together" (callgrind, 30 k messages, --single-threaded: 278 k instructions a message
 * for a round alone against 294 k together, the difference GC), so the plugins do not slow
 * each other down; the gap to the sum is the collector's, which the least of the rounds hides.
 */
import { definePlugin, type AnyPluginDefinition, type PluginMessage } from '../actors/plugin-api.js';
import { PluginHost } from '../actors/plugin-host.js';
import { registerPlugins } from '../actors/registry.js';
import { heapAllocatedBy } from './heap-allocated.js';

const BATCH = 512;
const ONLY_TARGET: readonly number[] = [0];

/** The runtime's own per-message path: a plugin offered everything that writes nothing. */
const noop = definePlugin({
  name: 'No-op',
  summary: 's',
  description: 'd',
  columns: ['n'],
  key: ['timestamp'],
  update() {},
});

export interface PluginCost {
  readonly ident: string;
  /** Fraction of the fixture messages the router offers this plugin. */
  readonly offered: number;
  /** CPU µs per message offered, net of the baseline: the least of the rounds, and their median. */
  readonly us_per_offered: number;
  readonly us_per_offered_median: number;
  /** Bytes allocated per message offered, net of the baseline (least of the rounds). */
  readonly bytes_per_offered: number;
  /** CPU µs this plugin adds to a fixture message: us_per_offered × offered. */
  readonly us_per_message: number;
  readonly bytes_per_message: number;
  /** Main-thread µs in GC per fixture message, in the run least CPU was taken by (not net of the baseline). */
  readonly gc_us_per_message: number;
}

export interface Run {
  readonly cpuUs: number;
  readonly bytes: number;
  /** Main-thread µs in GC while the messages were applied (v8.GCProfiler). */
  readonly gcUs: number;
  readonly gcs: number;
  /** Bytes the scavenges copied (heap-allocated.ts). */
  readonly copiedBytes: number;
}

/**
 * One pass of `list` through a fresh host of `definitions` (none: the baseline), as replay applies
 * it: to the first plugin, or to those `targets` names.
 */
export function applyRun(
  definitions: readonly unknown[],
  list: readonly PluginMessage[],
  targets?: readonly (readonly number[])[],
): Run {
  const host = new PluginHost(registerPlugins(definitions), () => {}, { checkValues: false });
  host.deferDigests();
  host.replaying();
  // The snapshotter's slots read each change log from the start (snapshots/snapshotter.ts): through
  // replay nothing advances them, so the log keeps its entries up to its capacity, as here.
  for (const r of host.runtimes) r.openReader();
  const {
    result: used,
    bytes,
    gcUs,
    gcs,
    copiedBytes,
  } = heapAllocatedBy(() => {
    const cpu = process.cpuUsage();
    for (let s = 0; s < list.length; s += BATCH) {
      const end = Math.min(s + BATCH, list.length);
      for (let j = s; j < end; j++) host.queue(list[j] as PluginMessage, targets?.[j] ?? ONLY_TARGET, j + 1);
      host.applyQueued();
    }
    return process.cpuUsage(cpu);
  });
  host.stop();
  return { cpuUs: used.user + used.system, bytes, gcUs, gcs, copiedBytes };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};
const round = (x: number, digits: number): number => +x.toFixed(digits);

/**
 * `definitions()`: the built-in definitions, made once (their functions keep no state: each run's
 * runtimes are fresh, as replay's are). `routed`: each fixture message with the indexes
 * of the plugins the router offers it to, meta already derived. `only`: idents to measure (all
 * when empty), for running one plugin under callgrind.
 */
export function pluginBreakdown(
  definitions: () => readonly AnyPluginDefinition[],
  routed: readonly (readonly [PluginMessage, readonly number[]])[],
  rounds: number,
  only: readonly string[] = [],
): {
  baseline_us: number;
  noop: PluginCost;
  plugins: PluginCost[];
  together: PluginCost | null;
  /** Each round's plugins alone, summed within the round, per fixture message (least, median; net of the baseline). */
  round_sum_us: number | null;
  round_sum_us_median: number | null;
} {
  const defs = definitions();
  const idents = registerPlugins(defs).map((p) => p.ident);
  const lists = idents.map((_, i) => routed.filter(([, targets]) => targets.includes(i)).map(([m]) => m));
  const all = routed.map(([m]) => m);
  const picked = idents.flatMap((ident, i) => (only.length === 0 || only.includes(ident) ? [i] : []));
  const targets = routed.map(([, t]) => t);
  // -1 the no-op plugin, -2 the baseline over every message, -3 every plugin together
  const cpu = new Map<number, number[]>();
  const bytes = new Map<number, number[]>();
  /** GC µs per fixture message of each key's least-CPU run so far, and that run's CPU. */
  const gc = new Map<number, { cpu: number; gc: number }>();
  const record = (key: number, r: Run, n: number) => {
    (cpu.get(key) ?? cpu.set(key, []).get(key))?.push(r.cpuUs / n);
    (bytes.get(key) ?? bytes.set(key, []).get(key))?.push(r.bytes / n);
    const least = gc.get(key);
    if (least === undefined || r.cpuUs / n < least.cpu) gc.set(key, { cpu: r.cpuUs / n, gc: r.gcUs / routed.length });
  };
  // A round's runs alone summed: every scavenge the round's allocation brings lands in one of
  // them, where the least of each plugin's rounds keeps the runs that had none.
  const roundSums: number[] = [];
  for (let r = 0; r < rounds; r++) {
    record(-2, applyRun([], all), all.length);
    record(-1, applyRun([noop], all), all.length);
    if (only.length === 0) record(-3, applyRun(defs, all, targets), all.length);
    let roundSum = 0;
    for (const i of picked) {
      const list = lists[i] as PluginMessage[];
      if (list.length === 0) continue;
      const run = applyRun([defs[i]], list);
      record(i, run, list.length);
      roundSum += run.cpuUs;
    }
    roundSums.push(roundSum / routed.length);
  }
  const least = (key: number, of: Map<number, number[]>) => Math.min(...(of.get(key) ?? [0]));
  const baseCpu = least(-2, cpu);
  const baseBytes = least(-2, bytes);
  const cost = (key: number, ident: string, offered: number): PluginCost => {
    const us = Math.max(0, least(key, cpu) - baseCpu);
    const b = Math.max(0, least(key, bytes) - baseBytes);
    return {
      ident,
      offered: round(offered, 3),
      us_per_offered: round(us, 3),
      us_per_offered_median: round(Math.max(0, median(cpu.get(key) ?? [0]) - baseCpu), 3),
      bytes_per_offered: round(b, 1),
      us_per_message: round(us * offered, 3),
      bytes_per_message: round(b * offered, 1),
      gc_us_per_message: round(gc.get(key)?.gc ?? 0, 3),
    };
  };
  const plugins = picked
    .map((i) => cost(i, idents[i] as string, (lists[i] as PluginMessage[]).length / routed.length))
    .sort((a, b) => b.us_per_message - a.us_per_message);
  return {
    baseline_us: round(baseCpu, 3),
    noop: cost(-1, '(no-op plugin: the runtime alone)', 1),
    plugins,
    together: only.length === 0 ? cost(-3, 'all plugins together', 1) : null,
    round_sum_us: only.length === 0 ? round(Math.min(...roundSums) - picked.length * baseCpu, 3) : null,
    round_sum_us_median: only.length === 0 ? round(median(roundSums) - picked.length * baseCpu, 3) : null,
  };
}

/**
 * For counting instructions (callgrind): `rounds` passes of the messages through fresh hosts of
 * the plugins `only` names (every built-in when empty, each offered what the router offers it),
 * nothing else timed. Run at two round counts: the difference over the messages applied is the
 * cost per message with set-up and warm-up cancelled.
 */
export function countRuns(
  definitions: () => readonly AnyPluginDefinition[],
  routed: readonly (readonly [PluginMessage, readonly number[]])[],
  rounds: number,
  only: readonly string[] = [],
): { applied: number } {
  const defs = definitions();
  const idents = registerPlugins(defs).map((p) => p.ident);
  const picked = idents.flatMap((ident, i) => (only.length === 0 || only.includes(ident) ? [i] : []));
  const chosen = picked.map((i) => defs[i]);
  // Targets renumbered into the chosen plugins.
  const renumber = new Map(picked.map((i, k) => [i, k]));
  const list: PluginMessage[] = [];
  const targets: number[][] = [];
  let applied = 0;
  for (const [m, t] of routed) {
    const mine = t.flatMap((i) => (renumber.has(i) ? [renumber.get(i) as number] : []));
    if (mine.length === 0) continue;
    list.push(m);
    targets.push(mine);
    applied += mine.length;
  }
  for (let r = 0; r < rounds; r++) applyRun(chosen, list, targets);
  return { applied: applied * rounds };
}
