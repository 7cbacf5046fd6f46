/**
 * The harness's table rows for the figures measured under load (bench/load/: ingest, reads,
 * push), the most involved of run.ts's to lay out, with a row's shape and the number formats
 * every row uses. Its own file so run.ts reads as what is run and in which order.
 */
import type { pushFigures, readFigures } from './load/figures.js';
import type { ingestFigures } from './load/ingest-figures.js';

export type Row = [figure: string, value: string, baseline: string, ratio: string, target: string];
export const k = (n: number) => `${(n / 1000).toFixed(1)} k`;
export const r2 = (n: number) => n.toFixed(2);

/** The ingest figures' rows: throughput, where the CPU went, and the steady state after warm-up. */
export function ingestRows(f: Awaited<ReturnType<typeof ingestFigures>>): Row[] {
  const rows: Row[] = [];
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
  return rows;
}

/** The reads figures' rows: ingesting, the server's CPU per request, with ingest stopped, and another build's when compared. */
export function readsRows(f: Awaited<ReturnType<typeof readFigures>>): Row[] {
  const rows: Row[] = [];
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
  return rows;
}

/** The push figures' rows: latency and fan-out. */
export function pushRows(f: Awaited<ReturnType<typeof pushFigures>>, clients: number): Row[] {
  const rows: Row[] = [];
  rows.push([
    `push latency, ${clients} clients, 1 k msg/s (ms)`,
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
  return rows;
}
