/**
 * Whether k plugins together cost more than the k of them alone, and where the difference goes:
 * for k = 1, 2, 4, 8, 16, all, the first k built-ins of a fixed shuffle (so families mix) run
 * together over the messages the router offers any of them, against the sum of each run alone
 * over the messages offered to it, as the breakdown runs them (plugin-breakdown.ts, applyRun).
 * CPU and the main thread's GC µs per fixture message; the least-CPU round of each.
 *
 *   APPLY_PATH_ONLY=scaling [BENCH_ROUNDS=3] [BENCH_SCALING_K=1,2,4,8,16,27] node dist/bench/apply-path.js
 *
 * What it showed (2 shared cores, 60 k fixture messages; 2 rounds, least CPU): together/sum 1.1,
 * 1.4, 1.2, 1.5, 1.5, 1.8 for k = 1, 2, 4, 8, 16, 27; the scavenges copied 0, 90, 101, 573, 1314,
 * 2191 bytes per message together against 0, 0, 0, 118, 251, 553 for the runs alone. A run alone
 * allocates less than one young generation, so its scavenges, and the copying of the state it
 * built, mostly fall after it; together the same state is copied inside the run. The GC column
 * is wall time, only meaningful on an idle machine.
 */
import type { AnyPluginDefinition, PluginMessage } from '../actors/plugin-api.js';
import { applyRun, type Run } from './plugin-breakdown.js';

export interface ScalingRow {
  readonly k: number;
  readonly together_us: number;
  readonly alone_sum_us: number;
  readonly together_gc_us: number;
  readonly alone_sum_gc_us: number;
  readonly together_gcs: number;
  readonly alone_sum_gcs: number;
  /** Bytes the scavenges copied per fixture message (heap-allocated.ts). */
  readonly together_copied_b: number;
  readonly alone_sum_copied_b: number;
}

/** A fixed permutation of 0..n-1 (a linear congruential shuffle): the same plugins for each k, run to run. */
function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let seed = 7;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    const j = Math.floor((seed / 0x7fffffff) * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** The messages and targets (renumbered into `picked`) of those `routed` offers to any of `picked`. */
function offeredTo(
  routed: readonly (readonly [PluginMessage, readonly number[]])[],
  picked: readonly number[],
): { list: PluginMessage[]; targets: number[][] } {
  const renumber = new Map(picked.map((i, k) => [i, k]));
  const list: PluginMessage[] = [];
  const targets: number[][] = [];
  for (const [m, t] of routed) {
    const mine = t.flatMap((i) => (renumber.has(i) ? [renumber.get(i) as number] : []));
    if (mine.length === 0) continue;
    list.push(m);
    targets.push(mine);
  }
  return { list, targets };
}

export function pluginScaling(
  definitions: () => readonly AnyPluginDefinition[],
  routed: readonly (readonly [PluginMessage, readonly number[]])[],
  rounds: number,
  ks: readonly number[],
): ScalingRow[] {
  const defs = definitions();
  const order = shuffled(defs.length);
  const least = new Map<string, Run>();
  const keep = (key: string, r: Run) => {
    const was = least.get(key);
    if (was === undefined || r.cpuUs < was.cpuUs) least.set(key, r);
  };
  const sizes = ks.map((k) => Math.min(k, defs.length));
  for (let r = 0; r < rounds; r++) {
    for (const k of sizes) {
      const picked = order.slice(0, k);
      const { list, targets } = offeredTo(routed, picked);
      keep(
        `k${k}`,
        applyRun(
          picked.map((i) => defs[i]),
          list,
          targets,
        ),
      );
    }
    for (const i of order.slice(0, Math.max(...sizes))) {
      const { list, targets } = offeredTo(routed, [i]);
      if (list.length > 0) keep(`p${i}`, applyRun([defs[i]], list, targets));
    }
  }
  const n = routed.length;
  const round3 = (x: number) => +x.toFixed(3);
  return sizes.map((k) => {
    const t = least.get(`k${k}`) as Run;
    const alone = order.slice(0, k).flatMap((i) => least.get(`p${i}`) ?? []);
    const sum = (f: (r: Run) => number) => alone.reduce((s, r) => s + f(r), 0);
    return {
      k,
      together_us: round3(t.cpuUs / n),
      alone_sum_us: round3(sum((r) => r.cpuUs) / n),
      together_gc_us: round3(t.gcUs / n),
      alone_sum_gc_us: round3(sum((r) => r.gcUs) / n),
      together_gcs: t.gcs,
      alone_sum_gcs: sum((r) => r.gcs),
      together_copied_b: Math.round(t.copiedBytes / n),
      alone_sum_copied_b: Math.round(sum((r) => r.copiedBytes) / n),
    };
  });
}

export function scalingTable(rows: readonly ScalingRow[]): string {
  const line = (cells: readonly (string | number)[]) => cells.map((c) => String(c).padStart(12)).join(' ');
  return [
    line([
      'k',
      'together µs',
      'sum alone µs',
      'ratio',
      'GC µs tog.',
      'GC µs alone',
      'GCs tog.',
      'GCs alone',
      'copied B tog',
      'copied B alone',
    ]),
    ...rows.map((r) =>
      line([
        r.k,
        r.together_us.toFixed(2),
        r.alone_sum_us.toFixed(2),
        (r.together_us / r.alone_sum_us).toFixed(2),
        r.together_gc_us.toFixed(2),
        r.alone_sum_gc_us.toFixed(2),
        r.together_gcs,
        r.alone_sum_gcs,
        r.together_copied_b,
        r.alone_sum_copied_b,
      ]),
    ),
  ].join('\n');
}
