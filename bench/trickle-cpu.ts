/**
 * The whole service's CPU per message at a steady trickle (1 k msg/s by default), for one build
 * or two side by side: at that rate the fixed costs of each wake-up (the bus thread's hand-over,
 * a journal commit per batch, timers, push ticks) are most of what a message costs, which is
 * what the reads figure pays beside its ingest (docs/benchmarks.md).
 *
 * Each build's service (`serve`, every built-in plugin) runs the whole time; rounds alternate
 * the builds (A B A B…). In a round a fresh publisher process (bench/load/publisher.py) sends
 * N messages at the rate, and the process's CPU time (all threads: /proc/PID/task/∗/schedstat,
 * ns) over that window less its CPU over an idle window just as long, over the messages it
 * applied (statscache_apply_delay_seconds_count), is its µs per message. Per thread too, with
 * each thread's wake-ups (voluntary context switches) per 1 k messages, to see which one pays:
 * on a virtual machine a wake-up is dear. Medians over the rounds; a first round per build
 * warms the JIT and is not counted. The machine's noise is in every window: alternate, repeat.
 *
 *   node dist/bench/trickle-cpu.js [--rounds=4] [--messages=8000] [--rate=1000]
 *     [--compare=/other/worktree/dist] [--flags="--bus-linger 25"]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { child, DIST, metric, PUBLISHER, PYTHON, percentile, SAMPLES, sleep, startService } from './load/lib.js';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const ROUNDS = Number(arg('rounds', '4'));
const N = Number(arg('messages', '8000'));
const RATE = Number(arg('rate', '1000'));
const compare = arg('compare', '');
const flags = arg('flags', '').split(' ').filter(Boolean);

interface Sample {
  /** ns on a CPU (schedstat's first field: exact, where stat counts 10 ms ticks). */
  readonly ns: number;
  /** Times it went to sleep of its own accord (voluntary context switches): its wake-ups. */
  readonly wakes: number;
}

/**
 * Each thread's CPU and wake-ups, keyed by name and id: the main thread `main`, Node's own
 * threads (V8's helpers, libuv's pool, worker threads: all named `node`) by their id's offset
 * from the process id, the rest by name (libzmq's `ZMQbg/IO/0`).
 */
function threads(pid: number): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const wakes = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main' : comm === 'node' ? `node+${Number(tid) - pid}` : comm;
      out.set(`${name}\t${tid}`, { ns, wakes });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** What each thread (by name) spent between two samples. */
function diff(a: Map<string, Sample>, b: Map<string, Sample>): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const [k, v] of b) {
    const name = k.split('\t')[0] ?? k;
    const before = a.get(k) ?? { ns: 0, wakes: 0 };
    const sum = out.get(name) ?? { ns: 0, wakes: 0 };
    out.set(name, { ns: sum.ns + v.ns - before.ns, wakes: sum.wakes + v.wakes - before.wakes });
  }
  return out;
}

interface Service {
  readonly label: string;
  readonly s: Awaited<ReturnType<typeof startService>>;
  readonly pid: number;
}

async function window(
  svc: Service,
  publish: boolean,
): Promise<{ ns: Map<string, Sample>; applied: number; batches: number; ms: number }> {
  const applied0 = await metric(svc.s.base, 'statscache_apply_delay_seconds_count');
  const batches0 = await metric(svc.s.base, 'statscache_journal_batches_total');
  const pub = publish
    ? child(PYTHON, [PUBLISHER, svc.s.bus, String(N), String(RATE), 'ingest-connect', SAMPLES])
    : undefined;
  if (pub) {
    await pub.line();
    await sleep(300); // the connection and its subscription reach the publisher
  }
  const t0 = performance.now();
  const before = threads(svc.pid);
  if (pub) {
    pub.send('go\n');
    await pub.rest();
    await sleep(200); // the last batch's linger and apply
  } else {
    await sleep((N / RATE) * 1000 + 200);
  }
  const after = threads(svc.pid);
  const ms = performance.now() - t0;
  const applied = (await metric(svc.s.base, 'statscache_apply_delay_seconds_count')) - applied0;
  const batches = (await metric(svc.s.base, 'statscache_journal_batches_total')) - batches0;
  return { ns: diff(before, after), applied, batches, ms };
}

const services: Service[] = [];
for (const [label, dist] of [['this', DIST], ...(compare ? [['compare', compare]] : [])] as [string, string][]) {
  const s = await startService(flags, undefined, dist);
  services.push({ label, s, pid: s.svc.proc.pid ?? 0 });
}

interface Figures {
  total: number[];
  wakes: number[];
  threads: Map<string, number>[];
  threadWakes: Map<string, number>[];
  idleUsPerS: number[];
  batch: number[];
}
const figures: Record<string, Figures> = {};
for (let round = 0; round <= ROUNDS; round++) {
  for (const svc of round % 2 === 0 ? services : [...services].reverse()) {
    const busy = await window(svc, true);
    const idle = await window(svc, false);
    if (round === 0) continue; // warm-up
    const f = (figures[svc.label] ??= {
      total: [],
      wakes: [],
      threads: [],
      threadWakes: [],
      idleUsPerS: [],
      batch: [],
    });
    const cpu = new Map<string, number>();
    const wakes = new Map<string, number>();
    let total = 0;
    let totalWakes = 0;
    let idleNs = 0;
    // Each thread's idle cost, scaled to the busy window's length, is taken off.
    const scale = busy.ms / idle.ms;
    for (const [name, b] of busy.ns) {
      const i = idle.ns.get(name) ?? { ns: 0, wakes: 0 };
      cpu.set(name, (b.ns - i.ns * scale) / 1000 / busy.applied);
      wakes.set(name, ((b.wakes - i.wakes * scale) * 1000) / busy.applied);
      total += b.ns - i.ns * scale;
      totalWakes += b.wakes - i.wakes * scale;
      idleNs += i.ns;
    }
    f.total.push(total / 1000 / busy.applied);
    f.wakes.push((totalWakes * 1000) / busy.applied);
    f.threads.push(cpu);
    f.threadWakes.push(wakes);
    f.idleUsPerS.push(idleNs / 1000 / (idle.ms / 1000));
    f.batch.push(busy.applied / busy.batches);
    console.error(
      `${svc.label} round ${round}: ${(total / 1000 / busy.applied).toFixed(1)} µs/msg over ${busy.applied} messages`,
    );
  }
}
for (const svc of services) await svc.s.svc.stop();

const median = (xs: number[]) => percentile(xs, 0.5);
/** Each thread's median over the rounds, the largest first; those under 0.5 left out. */
const perThread = (rounds: Map<string, number>[]) => {
  const names = new Set(rounds.flatMap((t) => [...t.keys()]));
  const out: [string, number][] = [];
  for (const n of names) out.push([n, +median(rounds.map((t) => t.get(n) ?? 0)).toFixed(1)]);
  return Object.fromEntries(out.filter(([, v]) => Math.abs(v) >= 0.5).sort((a, b) => b[1] - a[1]));
};
const result: Record<string, unknown> = { rate: RATE, messages: N, rounds: ROUNDS, flags };
for (const [label, f] of Object.entries(figures)) {
  result[label] = {
    us_per_message: +median(f.total).toFixed(1),
    rounds_us: f.total.map((x) => +x.toFixed(1)),
    // The main thread's round by round: builds alternate, so a pair of rounds shares the machine's noise.
    main_rounds_us: f.threads.map((t) => +(t.get('main') ?? 0).toFixed(1)),
    wakes_per_1k_messages: Math.round(median(f.wakes)),
    idle_cpu_us_per_s: Math.round(median(f.idleUsPerS)),
    messages_per_batch: +median(f.batch).toFixed(1),
    threads_us_per_message: perThread(f.threads),
    threads_wakes_per_1k_messages: perThread(f.threadWakes),
  };
}
console.log(JSON.stringify(result));
