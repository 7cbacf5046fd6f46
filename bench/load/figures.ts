/** The figures measured across processes: reads under wrk, push latency (ingest: ingest-figures.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  child,
  DIST,
  freePort,
  metric,
  PUBLISHER,
  PYTHON,
  percentile,
  SAMPLES,
  sleep,
  startService,
  type WrkResult,
  wrk,
} from './lib.js';
import { mainThreadCpuSeconds } from './thread-times.js';

const publisher = (endpoint: string, count: number, rate: number, mode: string) =>
  child(PYTHON, [PUBLISHER, endpoint, String(count), String(rate), mode, SAMPLES]);

const VIEW = '/api/volume-by-category-1m?rows_per_page=100';

/** A wrk run plus the server's main-thread CPU time per answered request, in µs (the service's includes its ingest). */
type Measured = WrkResult & { readonly server_cpu_us_per_req: number };
async function measured(url: string, seconds: number, pid: number | undefined): Promise<Measured> {
  const c0 = mainThreadCpuSeconds(pid);
  const r = await wrk(url, seconds);
  const cpu = mainThreadCpuSeconds(pid) - c0;
  return { ...r, server_cpu_us_per_req: +((cpu * 1e6) / Math.max(1, r.rps * seconds)).toFixed(1) };
}

type LoadMark = { readonly at: number; readonly idle: number; readonly total: number; readonly stall: number };
/**
 * How contended the machine was (other work shares its 2 cores): the busy share of all CPUs, and
 * the share of time some runnable task waited for a CPU (Linux PSI, /proc/pressure/cpu "some").
 */
function machineLoad(): LoadMark;
function machineLoad(since: LoadMark): { machine_busy_pct: number; cpu_pressure_pct: number | null };
function machineLoad(since?: LoadMark) {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  let stall = Number.NaN;
  try {
    stall = Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
  } catch {
    /* no PSI in this kernel: reported as null */
  }
  const mark = {
    at: performance.now(),
    idle: (cpu[3] ?? 0) + (cpu[4] ?? 0),
    total: cpu.reduce((a, b) => a + b, 0),
    stall,
  };
  if (since === undefined) return mark;
  const pressure = (100 * (mark.stall - since.stall)) / 1000 / (mark.at - since.at);
  return {
    machine_busy_pct: Math.round(100 * (1 - (mark.idle - since.idle) / Math.max(1, mark.total - since.total))),
    cpu_pressure_pct: Number.isFinite(pressure) ? Math.round(pressure) : null,
  };
}

/**
 * wrk against the service while a publisher sends 1 k msg/s, and against bare uWS and node:http
 * serving the same bytes; `rounds` alternations, each figure the mean over its rounds.
 * `compareDist` (another build's dist/, e.g. of the commit before a change) adds a second
 * service, fed by a publisher of its own at the same rate, measured in the same rounds: a
 * before/after pair that shares the machine's noise.
 */
export async function readFigures(seconds: number, rounds: number, compareDist?: string) {
  const started = async (dist?: string) => {
    const svc = await startService([], undefined, dist);
    const pub = publisher(svc.bus, 0, 1000, 'ingest-connect');
    await pub.line();
    pub.send('go\n');
    return { s: svc, pub };
  };
  const main = await started();
  const other = compareDist === undefined ? undefined : await started(compareDist);
  const s = main.s;
  await sleep(1500);
  const body = Buffer.from(await (await fetch(`${s.base}${VIEW}`)).arrayBuffer());
  const file = join(s.dataDir, 'view.json');
  writeFileSync(file, body);
  const bare = async (kind: string) => {
    const port = await freePort();
    const c = child(process.execPath, [join(DIST, 'bench/load/bare-http.js'), kind, String(port), file]);
    await c.line();
    const result = await measured(`http://127.0.0.1:${port}${VIEW}`, seconds, c.proc.pid);
    await c.stop();
    return result;
  };
  // Rounds alternate the servers, so a burst of other work on the machine is spread over all.
  const runs: Record<'service' | 'uws' | 'node' | 'compare', Measured[]> = {
    service: [],
    uws: [],
    node: [],
    compare: [],
  };
  // What ingest alone costs the service's event loop (share of one core, no reads), for reading
  // the figures: that share is not available to answer requests.
  const c0 = mainThreadCpuSeconds(s.svc.proc.pid);
  await sleep(2000);
  const ingestCpu = (mainThreadCpuSeconds(s.svc.proc.pid) - c0) / 2;
  const applied0 = await metric(s.base, 'statscache_apply_delay_seconds_count');
  const batches0 = await metric(s.base, 'statscache_journal_batches_total');
  const machine0 = machineLoad();
  const t0 = performance.now();
  for (let round = 0; round < rounds; round++) {
    runs.service.push(await measured(`${s.base}${VIEW}`, seconds, s.svc.proc.pid));
    runs.uws.push(await bare('uws'));
    if (other) runs.compare.push(await measured(`${other.s.base}${VIEW}`, seconds, other.s.svc.proc.pid));
    runs.node.push(await bare('node'));
  }
  const machine = machineLoad(machine0);
  const applied = (await metric(s.base, 'statscache_apply_delay_seconds_count')) - applied0;
  const appliedPerS = applied / ((performance.now() - t0) / 1000);
  // Messages per journal batch while ingesting: what --bus-linger buys (each batch costs about the same).
  const batches = (await metric(s.base, 'statscache_journal_batches_total')) - batches0;
  // The same pair with ingest stopped (no publisher, no second service): the read path alone
  // against bare uWS, and how much of the gap above the ingest on the same 2 cores accounts for.
  for (const x of [main, other]) await x?.pub.stop();
  await other?.s.svc.stop();
  await sleep(2000);
  const quiet = {
    service: await measured(`${s.base}${VIEW}`, seconds, s.svc.proc.pid),
    uws: await bare('uws'),
  };
  const mean = (rs: Measured[]): Measured => ({
    rps: Math.round(rs.reduce((n, r) => n + r.rps, 0) / rs.length),
    server_cpu_us_per_req: +(rs.reduce((n, r) => n + r.server_cpu_us_per_req, 0) / rs.length).toFixed(1),
    p50_ms: +(rs.reduce((n, r) => n + r.p50_ms, 0) / rs.length).toFixed(2),
    p99_ms: +(rs.reduce((n, r) => n + r.p99_ms, 0) / rs.length).toFixed(2),
    errors: rs.reduce((n, r) => n + r.errors, 0),
  });
  await s.svc.stop();
  return {
    body_bytes: body.length,
    ingest_during_run_per_s: Math.round(appliedPerS),
    ingest_mean_batch: batches > 0 ? +(applied / batches).toFixed(1) : null,
    ingest_event_loop_pct_of_core: Math.round(100 * ingestCpu),
    ...machine,
    rounds,
    service: mean(runs.service),
    uws: mean(runs.uws),
    node: mean(runs.node),
    ...(other ? { compare: { dist: compareDist, ...mean(runs.compare) } } : {}),
    not_ingesting: quiet,
    runs,
  };
}

async function pushRun(wsUrl: string, bus: string, clients: number, seconds: number) {
  const procs = clients >= 200 ? 2 : 1;
  const loads = Array.from({ length: procs }, (_, i) =>
    child(process.execPath, [
      join(DIST, 'bench/load/ws-clients.js'),
      wsUrl,
      String(Math.floor(clients / procs) + (i < clients % procs ? 1 : 0)),
    ]),
  );
  for (const l of loads) await l.line();
  const pub = publisher(bus, 1000 * seconds, 1000, 'push-connect');
  await pub.line();
  await sleep(500);
  pub.send('go\n');
  const sent = JSON.parse(await pub.line()) as { send_times_ms: number[] };
  await sleep(1000); // the last coalescing tick and its frames
  const times = `${JSON.stringify(sent.send_times_ms)}\n`;
  const results = await Promise.all(
    loads.map(async (l) => {
      l.send(times);
      return JSON.parse(await l.line()) as { frames: number; samples: number; missing: number; latencies_ms: number[] };
    }),
  );
  await pub.rest();
  const all = results.flatMap((r) => r.latencies_ms);
  return {
    samples: results.reduce((n, r) => n + r.samples, 0),
    missing: results.reduce((n, r) => n + r.missing, 0),
    p50_ms: +percentile(all, 0.5).toFixed(2),
    p99_ms: +percentile(all, 0.99).toFixed(2),
    frames_per_s: Math.round(results.reduce((n, r) => n + r.frames, 0) / (seconds + 1.5)),
  };
}

/** Publish → WebSocket receive, N clients on one view, against a bare uWS server pushing to the same clients. */
export async function pushFigures(clients: number, seconds: number) {
  const limits = [
    '--ws-tick-ms',
    '100',
    '--ws-max-connections-per-ip',
    String(clients + 10),
    '--ws-max-subscriptions-per-ip',
    String(clients + 10),
    '--ws-max-views',
    String(2 * clients + 20),
  ];
  const s = await startService(limits);
  const tick = 100;
  const service = await pushRun(`ws://127.0.0.1:${s.port}/ws`, s.bus, clients, seconds);
  await s.svc.stop();
  const port = await freePort();
  const bus = `tcp://127.0.0.1:${await freePort()}`;
  const b = child(process.execPath, [join(DIST, 'bench/load/bare-ws.js'), String(port), bus]);
  await b.line();
  const bare = await pushRun(`ws://127.0.0.1:${port}/ws`, bus, clients, seconds);
  await b.stop();
  return { clients, rate_per_s: 1000, tick_ms: tick, service, bare };
}
