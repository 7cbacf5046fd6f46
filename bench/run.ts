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

type Row = [figure: string, value: string, baseline: string, ratio: string, target: string];
const rows: Row[] = [];
const json: Record<string, unknown> = {
  quick,
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  mem_gb: Math.round(totalmem() / 2 ** 30),
};
const k = (n: number) => `${(n / 1000).toFixed(1)} k`;
const r2 = (n: number) => n.toFixed(2);

/** Runs one of the in-process benches as a child and parses the JSON it prints. */
async function benchChild(file: string, env: Record<string, string>) {
  const c = child(process.execPath, ['--expose-gc', join(DIST, 'bench', file)], env);
  // biome-ignore lint/suspicious/noExplicitAny: the child's own JSON report, read field by field below
  return JSON.parse(await c.rest()) as Record<string, any>;
}

if (want('ingest')) {
  const f = await ingestFigures(scale.ingest, scale.ingestWindow);
  json['ingest'] = f;
  rows.push([
    'ingest, every built-in plugin (msg/s)',
    `${k(f.service_per_s)} (bus thread off: ${k(f.single_thread_per_s)})`,
    `bare zeromq.js + JSON.parse ${k(f.bare_per_s)}`,
    r2(f.service_per_s / f.bare_per_s),
    '≥ 0.85',
  ]);
  const t = f.threads;
  rows.push([
    'ingest, where the time went: CPU per message (µs) of the main thread / bus thread / the rest; asleep',
    `${t.main_cpu_us_per_msg} / ${t.busiest_other_thread_cpu_us_per_msg} / ${t.rest_cpu_us_per_msg}; main ${t.main_asleep_pct}%, bus ${t.busiest_other_asleep_pct}%`,
    '',
    '',
    'reported',
  ]);
  rows.push([
    'ingest, the rest by kind of thread: CPU per message (µs), (threads of that kind)',
    Object.entries(t.rest_by_thread_kind)
      .map(([kind, n]) => `${kind} ${n.cpu_us_per_msg} (${n.threads})`)
      .join(', '),
    `bare zeromq.js: main ${f.bare_threads.main_cpu_us_per_msg}, ${f.bare_threads.busiest_other_thread_name} ${f.bare_threads.busiest_other_thread_cpu_us_per_msg}, ${Object.entries(
      f.bare_threads.rest_by_thread_kind,
    )
      .map(([kind, n]) => `${kind} ${n.cpu_us_per_msg}`)
      .join(', ')}`,
    '',
    'reported',
  ]);
  const st = f.steady_state;
  if (st) {
    const w = `ingest, steady state after ${k(st.warmup_messages)} warm-up: the next ${k(st.messages)}`;
    rows.push([
      `${w} (msg/s); the publisher's pace in each window`,
      `${k(st.service_per_s)} (publisher ${k(st.publisher_per_s)})`,
      `bare zeromq.js + JSON.parse, same warm-up: ${k(st.bare_per_s)} (publisher ${k(st.bare_publisher_per_s)})`,
      r2(st.service_per_s / st.bare_per_s),
      'reported (ingest: ≥ 0.85)',
    ]);
    const t = st.threads;
    const b = st.bare_threads;
    const kinds = (rest: typeof t.rest_by_thread_kind, n: boolean) =>
      Object.entries(rest)
        .map(([kind, x]) => `${kind} ${x.cpu_us_per_msg}${n ? ` (${x.threads})` : ''}`)
        .join(', ');
    rows.push([
      `${w}, CPU per message (µs): main / bus thread / the rest; asleep; the rest by kind (threads)`,
      `${t.main_cpu_us_per_msg} / ${t.busiest_other_thread_cpu_us_per_msg} / ${t.rest_cpu_us_per_msg}; main ${t.main_asleep_pct}%, bus ${t.busiest_other_asleep_pct}%; ${kinds(t.rest_by_thread_kind, true)}`,
      `bare zeromq.js: main ${b.main_cpu_us_per_msg}, ${b.busiest_other_thread_name} ${b.busiest_other_thread_cpu_us_per_msg}, ${kinds(b.rest_by_thread_kind, false)}`,
      '',
      'reported',
    ]);
  }
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
  rows.push([
    `GET /api/volume-by-category-1m?rows_per_page=100 (req/s), ingesting 1 k msg/s; machine ${f.machine_busy_pct}% busy, CPU pressure ${f.cpu_pressure_pct ?? '?'}%`,
    `${k(f.service.rps)}, p99 ${f.service.p99_ms} ms`,
    `bare uWS ${k(f.uws.rps)} (p99 ${f.uws.p99_ms}); node:http ${k(f.node.rps)} (p99 ${f.node.p99_ms})`,
    `${r2(f.service.rps / f.uws.rps)} of uWS, ${r2(f.service.rps / f.node.rps)}× node:http`,
    '≥ 0.90, ≥ 2.2×, p99 < 5 ms',
  ]);
  rows.push([
    "server main-thread CPU per request (µs), the same runs (the service's includes its ingest)",
    String(f.service.server_cpu_us_per_req),
    `bare uWS ${f.uws.server_cpu_us_per_req}; node:http ${f.node.server_cpu_us_per_req}`,
    `${r2(f.service.server_cpu_us_per_req / f.uws.server_cpu_us_per_req)}× bare uWS`,
    `ingest alone: ${f.ingest_event_loop_pct_of_core}% of a core, ${f.ingest_mean_batch ?? '?'} messages per batch`,
  ]);
  const q = f.not_ingesting;
  rows.push([
    'the same with ingest stopped (one round): the read path alone',
    `${k(q.service.rps)}, p99 ${q.service.p99_ms} ms, ${q.service.server_cpu_us_per_req} µs CPU/req`,
    `bare uWS ${k(q.uws.rps)} (p99 ${q.uws.p99_ms}, ${q.uws.server_cpu_us_per_req} µs CPU/req)`,
    `${r2(q.service.rps / q.uws.rps)} of uWS; CPU/req ${r2(q.service.server_cpu_us_per_req / q.uws.server_cpu_us_per_req)}×`,
    '',
  ]);
  if (f.compare)
    rows.push([
      `the same, build in ${f.compare.dist} (same rounds)`,
      `${k(f.compare.rps)}, p99 ${f.compare.p99_ms} ms`,
      'the bare servers above',
      `${r2(f.compare.rps / f.uws.rps)} of uWS, ${r2(f.compare.rps / f.node.rps)}× node:http`,
      `CPU per request ${f.compare.server_cpu_us_per_req} µs`,
    ]);
}
if (want('push')) {
  const f = await pushFigures(scale.pushClients, scale.pushSeconds);
  json['push'] = f;
  rows.push([
    `push latency, ${scale.pushClients} clients, 1 k msg/s (ms)`,
    `p50 ${f.service.p50_ms}, p99 ${f.service.p99_ms} (tick ${f.tick_ms})`,
    `bare uWS p50 ${f.bare.p50_ms}, p99 ${f.bare.p99_ms}`,
    `p99 ${r2(f.service.p99_ms / Math.max(0.01, f.tick_ms + 1.2 * f.bare.p99_ms))} of tick + 1.2× bare`,
    'p99 ≤ tick + 1.2× bare',
  ]);
  rows.push([
    'push fan-out (frames/s received)',
    k(f.service.frames_per_s),
    `bare uWS ${k(f.bare.frames_per_s)}`,
    '',
    'reported',
  ]);
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
