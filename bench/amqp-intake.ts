/**
 * What an AMQP delivery costs the service's main thread, by body size: bodies of `keys` members
 * in reverse order (the id must sort them; 49 k members is ~700 KB, bench/untimed-intake.ts's
 * ZeroMQ attack), each with its own message_id and a `sent-at`. The real service (its CLI,
 * default flags plus `--amqp` and any extra given) and a real RabbitMQ (amqplib publishing);
 * reported: the main thread's CPU time per delivery (/proc task schedstat), the whole process's
 * beside it. Wall-clock rates mean nothing on a shared host; CPU per delivery does.
 *
 *   node dist/bench/amqp-intake.js [deliveries per run] [rounds] [keys,keys,...]
 *   AMQP_URL=amqp://guest:guest@127.0.0.1:5672   the broker (default: that one)
 *   AMQP_OLD_DIST=/other/build/dist   alternates that build with this one, round by round
 *   AMQP_VARIANTS='--amqp-thread false;--amqp-thread true'   alternates these flag sets of this build instead
 */
import { readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import { DIST, metric, sleep, startService } from './load/lib.js';

const N = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const SIZES = (process.argv[4] ?? '49000').split(',').map(Number);
const URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const OLD = process.env['AMQP_OLD_DIST'];
const VARIANTS = process.env['AMQP_VARIANTS']?.split(';').map((v) => v.split(' ').filter(Boolean));
const runs: { dist: string; extra: string[] }[] = VARIANTS
  ? VARIANTS.map((extra) => ({ dist: DIST, extra }))
  : (OLD ? [OLD, DIST] : [DIST]).map((dist) => ({ dist, extra: [] }));
const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const bodyOf = (keys: number) =>
  Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${keys - i}`, i]))));

/** The main thread's time on a CPU, ns (schedstat: exact, where stat counts 10 ms ticks). */
const threadNs = (pid: number) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
/** Every thread of the process, ns (utime + stime, 10 ms ticks). */
const processNs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 1e7;
};

async function run(dist: string, extra: string[], round: number) {
  const queue = `statscache-bench-${process.pid}-${round}-${Math.random().toString(36).slice(2)}`;
  const { svc, base } = await startService(['--amqp', URL, '--amqp-queue', queue, ...extra], undefined, dist);
  const pid = svc.proc.pid as number;
  const conn = await amqplib.connect(URL);
  const ch = await conn.createConfirmChannel();
  const acked = () => metric(base, 'statscache_amqp_acked_total');
  for (let i = 0; (await metric(base, 'statscache_amqp_connects_total')) === 0; i++) {
    if (i > 300) throw new Error('the AMQP input did not consume');
    await sleep(50);
  }
  const stamp = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  /** Publishes `n` deliveries of `body` and waits until they are acked. */
  async function feed(n: number, body: Buffer, label: string) {
    const before = await acked();
    for (let i = 0; i < n; i++)
      ch.publish('amq.topic', TOPIC, body, { messageId: `${label}-${round}-${i}`, headers: { 'sent-at': stamp } });
    await ch.waitForConfirms();
    while ((await acked()) < before + n) await sleep(100);
  }
  const figures: Record<string, number> = {};
  for (const keys of SIZES) {
    const body = bodyOf(keys);
    // Warmed up (the plugins' and the decoders' code compiled, the thread started) before anything is measured.
    await feed(3, body, `warm-${keys}`);
    const [t0, p0] = [threadNs(pid), processNs(pid)];
    await feed(N, body, `m-${keys}`);
    figures[`b${body.length}_main_us`] = Math.round((threadNs(pid) - t0) / N / 1e3);
    figures[`b${body.length}_process_us`] = Math.round((processNs(pid) - p0) / N / 1e3);
  }
  await ch.deleteQueue(queue).catch(() => undefined);
  await conn.close();
  await svc.stop();
  return figures;
}

console.log(JSON.stringify({ deliveries: N, keys: SIZES }));
for (let round = 0; round < ROUNDS; round++)
  for (const { dist, extra } of runs)
    console.log(JSON.stringify({ build: dist, extra: extra.join(' '), round, ...(await run(dist, extra, round)) }));
process.exit(0);
