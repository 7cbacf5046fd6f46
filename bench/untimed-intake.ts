/**
 * What a large bus message costs the service's main thread with the bus thread on, with a
 * timestamp and without one (which the clock fills in): a body of 49 k members in reverse order
 * (~700 KB, the id must sort them), each message with its own msg_id. The real service (its
 * CLI, default flags) and a real ZeroMQ publisher; reported: the main thread's CPU time per
 * message (/proc task schedstat), the rest of the process beside it. Wall-clock rates mean
 * nothing on a shared host; CPU per message does.
 *
 *   node dist/bench/untimed-intake.js [messages per run] [rounds]
 *   UNTIMED_OLD_DIST=/other/build/dist   alternates that build with this one, round by round
 */
import { readFileSync } from 'node:fs';
import { Publisher } from 'zeromq';
import { DIST, metric, sleep, startService } from './load/lib.js';

const N = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const OLD = process.env['UNTIMED_OLD_DIST'];
const builds = OLD ? [OLD, DIST] : [DIST];
const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const KEYS = 49_000;
const body = JSON.stringify(Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`k${KEYS - i}`, i])));

/** The main thread's time on a CPU, ns (schedstat: exact, where stat counts 10 ms ticks). */
const threadNs = (pid: number) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
/** Every thread of the process, ns (utime + stime, 10 ms ticks). */
const processNs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 1e7;
};

async function run(dist: string, round: number) {
  const { svc, base, bus } = await startService([], undefined, dist);
  const pid = svc.proc.pid as number;
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  pub.connect(bus);
  for (let i = 0; (await metric(base, 'statscache_bus_frames_total')) === 0; i++) {
    if (i > 200) throw new Error('the subscription did not join');
    await pub.send(['probe', '{bad']);
    await sleep(50);
  }
  /** Sends `n` messages and waits until they are taken in. */
  async function feed(n: number, label: string, timed: boolean) {
    const before = await metric(base, 'statscache_bus_accepted_total');
    const stamp = Math.floor(Date.now() / 1000) - 60;
    for (let i = 0; i < n; i++) {
      const head = `{"topic":"${TOPIC}","msg_id":"${label}-${round}-${i}"${timed ? `,"timestamp":${stamp}` : ''}`;
      await pub.send([TOPIC, `${head},"msg":${body}}`]);
    }
    while ((await metric(base, 'statscache_bus_accepted_total')) < before + n) await sleep(200);
  }
  // Warmed up (the plugins' and the decoders' code compiled) before anything is measured.
  await feed(3, 'warm-timed', true);
  await feed(3, 'warm-untimed', false);
  const figures: Record<string, number> = {};
  // Which kind goes first alternates by round, so neither always runs on the warmer process.
  for (const timed of round % 2 === 0 ? [false, true] : [true, false]) {
    const kind = timed ? 'timed' : 'untimed';
    const [t0, p0] = [threadNs(pid), processNs(pid)];
    await feed(N, kind, timed);
    figures[`${kind}_main_ms`] = Math.round((threadNs(pid) - t0) / N / 1e4) / 100;
    figures[`${kind}_process_ms`] = Math.round((processNs(pid) - p0) / N / 1e4) / 100;
  }
  pub.close();
  await svc.stop();
  return figures;
}

console.log(JSON.stringify({ messages: N, body_bytes: body.length, keys: KEYS }));
for (let round = 0; round < ROUNDS; round++)
  for (const dist of builds) console.log(JSON.stringify({ build: dist, round, ...(await run(dist, round)) }));
process.exit(0);
