/**
 * What a process's threads spent, read from Linux's /proc (empty or NaN elsewhere): the main
 * thread's CPU, each thread's scheduler account, and what kind of thread each one is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './lib.js';

/**
 * CPU seconds (user + system) of a process's main thread (Linux; NaN elsewhere): the event loop
 * that answers and applies, not LMDB's, GC's or the bus and replay threads'.
 */
export function mainThreadCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** One thread's scheduler account (Linux /proc/PID/task/TID/schedstat), in seconds. */
export interface ThreadTimes {
  readonly name: string;
  /** On a CPU. */
  readonly run: number;
  /** Runnable, waiting for a CPU (other work on the machine, or the process's own threads). */
  readonly queued: number;
}

/**
 * Every thread of a process by thread id (Linux; empty elsewhere). Tells a thread that could
 * not keep up (running or waiting for a CPU all the time) from one that waited on something
 * (asleep: a commit, credit, the next batch), on a machine shared with other work.
 */
export function threadTimes(pid: number | undefined): Map<number, ThreadTimes> {
  const out = new Map<number, ThreadTimes>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const [run = 0, queued = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(Number(tid), { name, run: run / 1e9, queued: queued / 1e9 });
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

/**
 * What the threads of `pid` spent between two threadTimes() readings, per message: the main
 * thread's CPU, the busiest other thread's (the bus thread's when it runs), the rest (V8's
 * compiler and GC helpers, libuv's pool, libzmq's I/O thread), and the share of the wall time
 * the main and busiest threads slept (neither on a CPU nor waiting for one); with `kinds`
 * (threadKinds, taken before), the rest split by kind of thread.
 */
export function threadSplit(
  pid: number,
  before: Map<number, ThreadTimes>,
  after: Map<number, ThreadTimes>,
  messages: number,
  seconds: number,
  kinds: ReadonlyMap<number, string> = new Map(),
) {
  const spent = [...after].map(([tid, t]) => {
    const b = before.get(tid);
    return {
      tid,
      name: kinds.get(tid) ?? (kinds.size > 0 && !b ? `${t.name} (started later)` : t.name),
      run: t.run - (b?.run ?? 0),
      queued: t.queued - (b?.queued ?? 0),
    };
  });
  const main = spent.find((t) => t.tid === pid) ?? { tid: pid, run: 0, queued: 0 };
  const others = spent.filter((t) => t.tid !== pid).sort((a, b) => b.run - a.run);
  const busiest = others[0] ?? { tid: 0, name: '', run: 0, queued: 0 };
  const perMsg = (s: number) => +((s * 1e6) / Math.max(1, messages)).toFixed(1);
  const asleep = (t: { run: number; queued: number }) =>
    Math.max(0, Math.round(100 * (1 - (t.run + t.queued) / Math.max(1e-9, seconds))));
  return {
    main_cpu_us_per_msg: perMsg(main.run),
    busiest_other_thread_cpu_us_per_msg: perMsg(busiest.run),
    rest_cpu_us_per_msg: perMsg(others.slice(1).reduce((n, t) => n + t.run, 0)),
    main_asleep_pct: asleep(main),
    busiest_other_asleep_pct: asleep(busiest),
    busiest_other_thread_name: busiest.name,
    rest_by_thread_kind: restByKind(others.slice(1), perMsg),
  };
}

/**
 * "The rest" split by kind of thread (threadKinds), largest first: how many threads of that kind
 * and their CPU per message. A thread that ended before the last reading is not in it (its time
 * is lost to every figure).
 */
function restByKind(
  rest: readonly { name: string; run: number }[],
  perMsg: (s: number) => number,
): Record<string, { threads: number; cpu_us_per_msg: number }> {
  const byKind = new Map<string, { threads: number; run: number }>();
  for (const t of rest) {
    const n = byKind.get(t.name) ?? { threads: 0, run: 0 };
    byKind.set(t.name, { threads: n.threads + 1, run: n.run + t.run });
  }
  return Object.fromEntries(
    [...byKind]
      .sort((a, b) => b[1].run - a[1].run)
      .map(([kind, n]) => [kind, { threads: n.threads, cpu_us_per_msg: perMsg(n.run) }]),
  );
}

const FUTEX = '202'; // x86_64 syscall numbers, as /proc/PID/task/TID/syscall shows them
const EPOLL = new Set(['232', '281']); // epoll_wait, epoll_pwait

/**
 * What each thread of an idle Node process is (Linux, x86_64; an empty map elsewhere). Node 20
 * names none of its threads (each one's comm is "node"; libzmq's are named), so they are told
 * apart by what they sleep on, read from /proc/PID/task/TID/syscall while the process idles:
 * a pool's threads wait on one condition variable (futex words within 64 bytes), a thread with
 * an event loop (a Worker, the platform's delayed-task scheduler) in epoll. Pools in the order
 * their threads were made: V8's platform pool (its compiler and GC helpers) is made at start-up,
 * before libuv's pool, which starts at the first queued work (LMDB's writes and commits run
 * there). Node's default pool sizes assumed (`--v8-pool-size=1` leaves V8 a lone thread, labelled
 * `other`, and libuv's pool is then taken for V8's). Sampled up to 5 times 20 ms apart, as a
 * thread found running is not yet known.
 */
export async function threadKinds(pid: number | undefined): Promise<Map<number, string>> {
  const seen = new Map<number, { comm: string; wait: string }>();
  for (let round = 0; round < 5; round++) {
    let pending = false;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return new Map();
    }
    for (const tid of tids) {
      if (seen.has(Number(tid))) continue;
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const [nr = '', addr = ''] = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim().split(' ');
        if (nr === 'running') pending = true;
        else
          seen.set(Number(tid), {
            comm,
            wait: nr === FUTEX ? `futex:${BigInt(addr) >> 6n}` : EPOLL.has(nr) ? 'epoll' : `syscall:${nr}`,
          });
      } catch {
        /* the thread ended meanwhile, or the file is not readable here */
      }
    }
    if (!pending) break;
    await sleep(20);
  }
  const byWait = new Map<string, number[]>();
  for (const [tid, t] of seen) byWait.set(t.wait, [...(byWait.get(t.wait) ?? []), tid]);
  const pools = [...byWait]
    .filter(([wait, tids]) => wait.startsWith('futex:') && tids.length > 1)
    .sort((a, b) => Math.min(...a[1]) - Math.min(...b[1]));
  const poolName = new Map(pools.map(([wait], i) => [wait, ['v8-platform', 'libuv-pool'][i] ?? `pool-${i + 1}`]));
  const kinds = new Map<number, string>();
  for (const [tid, t] of seen) {
    if (tid === pid) kinds.set(tid, 'main');
    else if (t.comm !== 'node') kinds.set(tid, t.comm);
    else kinds.set(tid, poolName.get(t.wait) ?? (t.wait === 'epoll' ? 'event-loop' : 'other'));
  }
  return kinds;
}
