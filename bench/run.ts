/**
 * The benchmark harness (`npm run bench`, or `npm run bench -- --quick` for a run under two
 * minutes). Every figure is measured beside its baseline in the same run; load comes from
 * other processes (the Python publisher, wrk, WebSocket client processes). Prints a table and
 * one JSON line. Not part of `npm test`: it asserts nothing about time. See docs/benchmarks.md.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { child, DIST, preflight } from './load/lib.js';
import { pushFigures, readFigures } from './load/figures.js';
import { ingestFigures } from './load/ingest-figures.js';
import { ingestRows, k, pushRows, r2, readsRows, type Row } from './load-rows.js';

preflight();
const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const want = (name: string) => !only || only.includes(name);
const scale = quick
  ? {
      ingest: 30_000,
      // The steady-state window after the ingest run's messages (its warm-up).
      ingestWindow: 30_000,
      replay: 30_000,
      wrkSeconds: 4,
      wrkRounds: 1,
      pushClients: 100,
      pushSeconds: 4,
      keys: 50_000,
      memoryKeys: 200_000,
    }
  : {
      ingest: 200_000,
      ingestWindow: 100_000,
      replay: 100_000,
      wrkSeconds: 8,
      wrkRounds: 2,
      pushClients: 1000,
      pushSeconds: 8,
      keys: 500_000,
      memoryKeys: 1_000_000,
    };

const rows: Row[] = [];
const json: Record<string, unknown> = {
  quick,
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  mem_gb: Math.round(totalmem() / 2 ** 30),
};

/** Runs one of the in-process benches as a child and parses the JSON it prints. */
async function benchChild(file: string, env: Record<string, string>) {
  const c = child(process.execPath, ['--expose-gc', join(DIST, 'bench', file)], env);
  // biome-ignore lint/suspicious/noExplicitAny: the child's own JSON report, read field by field below
  return JSON.parse(await c.rest()) as Record<string, any>;
}

if (want('ingest')) {
  const f = await ingestFigures(scale.ingest, scale.ingestWindow);
  json['ingest'] = f;
  rows.push(...ingestRows(f));
}
if (want('replay')) {
  const f = await benchChild('ingest.js', { BENCH_MESSAGES: String(scale.replay) });
  json['replay'] = f;
  rows.push([
    'replay, journal apply at start-up (msg/s); main-thread CPU per message',
    `${k(f.replay_per_s)}, ${f.replay_main_thread_cpu_us_per_msg.thread} µs, ${k(f.replayed_on_thread?.[0] ?? 0)} on the replay thread (thread off: ${k(f.replay_thread_off_per_s)}, ${f.replay_main_thread_cpu_us_per_msg.thread_off} µs${f.replay_thread_forced ? `; thread forced: ${k(f.replay_thread_forced.per_s)}, ${f.replay_main_thread_cpu_us_per_msg.thread_forced} µs, ${k(f.replay_thread_forced.replayed_on_thread)} on it` : ''})`,
    `JSON.parse + no-op dispatch ${k(f.baseline_parse_dispatch_per_s)}`,
    r2(f.replay_per_s / f.baseline_parse_dispatch_per_s),
    '≥ 200 k and ≥ 0.5',
  ]);
}
// Not in --quick: a sizing figure for a data-layout change (bench/counter-floor.ts), not a target.
if ((!quick && !only) || only?.includes('floor')) {
  const f = await benchChild('counter-floor.js', {});
  json['counter_floor'] = f;
  rows.push([
    `apply, the ${f.counter_plugins} bucketed counter plugins (µs per message)`,
    String(f.runtime_us_per_msg),
    `leanest layout doing their work ${f.floor_us_per_msg}`,
    r2(f.runtime_vs_floor),
    'sizing only',
  ]);
}
if (want('reads')) {
  const compare = process.argv.find((a) => a.startsWith('--reads-compare='))?.slice('--reads-compare='.length);
  const roundsFlag = process.argv.find((a) => a.startsWith('--reads-rounds='))?.slice('--reads-rounds='.length);
  const f = await readFigures(
    scale.wrkSeconds,
    roundsFlag ? Math.max(1, Number(roundsFlag) | 0) : scale.wrkRounds,
    compare,
  );
  json['reads'] = f;
  rows.push(...readsRows(f));
}
if (want('push')) {
  const f = await pushFigures(scale.pushClients, scale.pushSeconds);
  json['push'] = f;
  rows.push(...pushRows(f, scale.pushClients));
}
if (want('snapshot')) {
  const f = await benchChild('snapshot-healthz.js', { BENCH_KEYS: String(scale.keys) });
  json['snapshot'] = f;
  const c = f.chunked as Record<string, Record<string, number>>;
  const o = f.one_turn as Record<string, Record<string, number>>;
  const keys = f.tracked_keys as number;
  rows.push([
    `snapshot stall, ${k(keys)} keys, 1% changed (longest /healthz ms)`,
    `${c['incremental_1pct']?.['healthz_max_ms']} (full: ${c['full']?.['healthz_max_ms']})`,
    `no snapshot ${c['idle']?.['healthz_max_ms']}; one event-loop turn ${o['incremental_1pct']?.['healthz_max_ms']} (full: ${o['full']?.['healthz_max_ms']})`,
    '',
    '≤ 10 ms at 1 M keys',
  ]);
  // The client's view above holds its own scheduling on a shared machine; these are measured in the server.
  const inc = c['incremental_1pct'];
  rows.push([
    'the same inside the server: event-loop delay max / p99 (ms); longest snapshot turn (CPU ms)',
    `${inc?.['loop_delay_max_ms']} / ${inc?.['loop_delay_p99_ms']}; ${inc?.['snapshot_longest_turn_cpu_ms']}`,
    `no snapshot ${c['idle']?.['loop_delay_max_ms']} / ${c['idle']?.['loop_delay_p99_ms']}`,
    '',
    '≤ 10 ms at 1 M keys',
  ]);
  const restore = f.restore as Record<string, number>;
  rows.push([
    `restore, ${k(keys)} keys + ${k(restore['journal_records'] ?? 0)} journal records (ms), from build() on`,
    `${restore['ms']} (data-file check and snapshot load ${restore['build_ms']}; journal replay ${restore['recover_ms']})`,
    '',
    '',
    '≤ 3000 ms at 1 M keys + 100 k records',
  ]);
  rows.push([
    `memory per tracked key (B), ${k(keys)} keys, bench plugin (row + store entry per user)`,
    String(f.bytes_per_key),
    '',
    '',
    '≤ 150 B',
  ]);
}
if (want('memory')) {
  const f = await benchChild('memory.js', { BENCH_KEYS: String(scale.memoryKeys) });
  json['memory'] = f;
  rows.push([
    `memory per tracked key (B), ${k(f.keys)} keys: contribution calendar; volume-by-user-1d`,
    `${f.calendar.bytes_per_key}; ${f.counter.bytes_per_key}`,
    '',
    '',
    '≤ 150 B at 1 M keys',
  ]);
}

const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...[...rows, HEADER()].map((r) => r[i]?.length ?? 0)));
function HEADER(): Row {
  return ['figure', 'statscache', 'baseline (same run)', 'ratio', 'target'];
}
const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(HEADER()));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(JSON.stringify(json));
