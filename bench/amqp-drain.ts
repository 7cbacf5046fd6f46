/**
 * How fast a durable queue's backlog drains into the service over AMQP (a restart after
 * downtime), against a bare amqplib consumer (JSON.parse and an ack per delivery, the same
 * prefetch) draining the same backlog from the same RabbitMQ, in the same run. The real fixture
 * messages (their topics as routing keys, persistent, `sent-at` headers), repeated with fresh
 * message ids. The service is started once to declare its queue, stopped, the backlog published,
 * then started again on the same data dir: the drain is timed from /readyz to the last ack.
 * Reported per variant: msg/s and its ratio to the bare consumer's, CPU per delivery (main
 * thread, whole process, and the busiest other thread: the AMQP input thread when it is on),
 * journal batches.
 *
 *   node dist/bench/amqp-drain.js [messages] [rounds] [prefetch,prefetch,...]
 *   AMQP_URL=amqp://guest:guest@127.0.0.1:5672   the broker (default: that one)
 *   AMQP_OLD_DIST=/other/build/dist[,/third/dist]  also drains with those builds, alternated
 *   AMQP_SERVE_FLAGS='--amqp-input-thread false'   more flags for every service started
 */
import { readdirSync, readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import { DIST, metric, SAMPLES, sleep, startService } from './load/lib.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const PREFETCHES = (process.argv[4] ?? '25').split(',').map(Number);
const URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const OLD = process.env['AMQP_OLD_DIST'];
const SERVE_FLAGS = (process.env['AMQP_SERVE_FLAGS'] ?? '').split(' ').filter(Boolean);
const builds = [...(OLD ? OLD.split(',').filter(Boolean) : []), DIST];

interface Sample {
  readonly topic: string;
  readonly msg: unknown;
}
const samples: Sample[] = readFileSync(SAMPLES, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Sample);

/** ns of CPU: the main thread's (schedstat, exact) and every thread's (stat, 10 ms ticks). */
const mainNs = (pid: number) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
const processNs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 1e7;
};

/** Publishes the backlog to amq.topic, confirmed, while nothing consumes the queue bound to it. */
async function publishBacklog(label: string): Promise<void> {
  const conn = await amqplib.connect(URL);
  try {
    const ch = await conn.createConfirmChannel();
    // Dated a minute ago: every plugin takes it, none refuses it as ahead of the clock.
    const stamp = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    for (let i = 0; i < N; i++) {
      const s = samples[i % samples.length] as Sample;
      ch.publish('amq.topic', s.topic, Buffer.from(JSON.stringify(s.msg)), {
        messageId: `${label}-${i}`,
        persistent: true,
        headers: { 'sent-at': stamp },
      });
      if (i % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

/** Deliveries the service's first AMQP input acked, from /readyz. */
async function acked(base: string): Promise<number> {
  const body = (await (await fetch(`${base}/readyz`)).json()) as { amqp?: { acked: number }[] };
  return body.amqp?.[0]?.acked ?? 0;
}

async function deleteQueue(queue: string): Promise<void> {
  const conn = await amqplib.connect(URL);
  await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
  await conn.close();
}

async function bare(prefetch: number, round: number) {
  const queue = `statscache-bench-bare-${process.pid}-${round}-${prefetch}`;
  const conn = await amqplib.connect(URL);
  try {
    const setup = await conn.createChannel();
    await setup.assertQueue(queue, { durable: true });
    await setup.bindQueue(queue, 'amq.topic', '#');
    await publishBacklog(queue);
    const ch = await conn.createChannel();
    await ch.prefetch(prefetch);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let n = 0;
    await new Promise<void>((resolve) => {
      void ch.consume(queue, (m) => {
        if (m === null) return;
        JSON.parse(m.content.toString());
        ch.ack(m);
        if (++n === N) resolve();
      });
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { rate: N / (ms / 1000), main_us: (cpu.user + cpu.system) / N, process_us: (cpu.user + cpu.system) / N };
  } finally {
    await conn.close();
    await deleteQueue(queue);
  }
}

/** Each thread's CPU ns (schedstat, exact), by thread id. */
const tasksNs = (pid: number) => {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {}
  }
  return out;
};
async function service(dist: string, prefetch: number, round: number) {
  const queue = `statscache-bench-drain-${process.pid}-${round}-${prefetch}`;
  const flags = ['--amqp', URL, '--amqp-queue', queue, '--amqp-prefetch', String(prefetch), ...SERVE_FLAGS];
  // A first start declares and binds the durable queue; the backlog is published while it is down.
  const first = await startService(flags, undefined, dist);
  for (let i = 0; (await metric(first.base, 'statscache_amqp_connects_total')) === 0; i++) {
    if (i > 300) throw new Error('the AMQP input did not consume');
    await sleep(50);
  }
  await first.svc.stop();
  await publishBacklog(queue);
  try {
    const { svc, base } = await startService(flags, undefined, dist, {}, first.dataDir);
    const pid = svc.proc.pid as number;
    const [m0, p0, t0] = [mainNs(pid), processNs(pid), performance.now()];
    const k0 = tasksNs(pid);
    // /readyz, every 100 ms: a /metrics render (and its gzip) every few ms was a fifth of the
    // service's main-thread time in the first version of this bench.
    while ((await acked(base)) < N) await sleep(100);
    const ms = performance.now() - t0;
    const k1 = tasksNs(pid);
    let busiest = 0;
    for (const [k, v] of k1) if (k !== String(pid)) busiest = Math.max(busiest, v - (k0.get(k) ?? 0));
    const figures = {
      thread_us: busiest / N / 1e3,
      rate: N / (ms / 1000),
      main_us: (mainNs(pid) - m0) / N / 1e3,
      process_us: (processNs(pid) - p0) / N / 1e3,
      batches: await metric(base, 'statscache_journal_batches_total'),
    };
    await svc.stop();
    return figures;
  } finally {
    await deleteQueue(queue);
  }
}

const rows: Record<string, unknown>[] = [];
for (let round = 0; round < ROUNDS; round++)
  for (const prefetch of PREFETCHES) {
    const base = await bare(prefetch, round);
    rows.push({ round, prefetch, variant: 'bare amqplib', ...base, ratio: 1 });
    for (const dist of builds) {
      const f = await service(dist, prefetch, round);
      rows.push({
        round,
        prefetch,
        variant: dist === DIST ? 'statscache' : `statscache ${dist}`,
        ...f,
        ratio: f.rate / base.rate,
      });
    }
  }
const fmt = (v: unknown) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 0)) : String(v);
console.log(
  ['round', 'prefetch', 'variant', 'msg/s', 'ratio', 'main µs', 'process µs', 'thread µs', 'batches'].join('\t'),
);
for (const r of rows)
  console.log(
    [
      r['round'],
      r['prefetch'],
      r['variant'],
      r['rate'],
      r['ratio'],
      r['main_us'],
      r['process_us'],
      r['thread_us'] ?? '',
      r['batches'] ?? '',
    ]
      .map(fmt)
      .join('\t'),
  );
console.log(JSON.stringify({ bench: 'amqp-drain', messages: N, rows }));
process.exit(0);
