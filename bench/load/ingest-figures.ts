/**
 * The ingest figures: the service (every built-in plugin) against a bare zeromq.js subscriber,
 * both fed by the same publisher script; and the steady state after a warm-up, each alike.
 */
import { join } from 'node:path';
import { child, DIST, freePort, PUBLISHER, PYTHON, SAMPLES, sleep, startService } from './lib.js';
import { threadKinds, threadSplit, threadTimes } from './thread-times.js';

/** publisher.py in ingest mode, as fast as it can; `more` > 0: a second part on "more" (the window). */
const publisher = (endpoint: string, count: number, more: number) =>
  child(PYTHON, [PUBLISHER, endpoint, String(count), '0', 'ingest', SAMPLES, ...(more > 0 ? [String(more)] : [])]);

type Split = ReturnType<typeof threadSplit>;
/** What publisher.py prints after each part it sent. */
type Sent = { sent: number; seconds: number };
/** One steady-state window: its length, its threads, and the pace the publisher sent it at. */
type Window = { seconds: number; threads: Split; publisher_per_s: number };
const perS = (sent: Sent) => Math.round(sent.sent / sent.seconds);

/**
 * The same publisher feeds the service (every built-in plugin) with its bus thread, the
 * service with everything on the main thread (`--bus-thread false`, the design before), then a
 * bare subscriber. With `window` > 0, the service with its bus thread and the bare subscriber
 * each take `window` messages more once their first `count` are all applied (`count` is then
 * their warm-up): `steady_state`. The first `count` are measured as without it: the publisher
 * holds the window's messages back until told.
 */
export async function ingestFigures(count: number, window = 0) {
  const pubEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const threaded = await timeService(pubEndpoint, count, [], window);
  const single = await timeService(pubEndpoint, count, ['--bus-thread', 'false']);
  const pub = publisher(pubEndpoint, count, window);
  await pub.line();
  const bare = child(process.execPath, [
    join(DIST, 'bench/load/bare-subscriber.js'),
    pubEndpoint,
    String(count),
    ...(window > 0 ? [String(window)] : []),
  ]);
  await bare.line();
  await sleep(500);
  pub.send('go\n');
  const b = JSON.parse(await bare.line()) as {
    received: number;
    seconds: number;
    threads: Split;
  };
  let bareWindow: Window | undefined;
  if (window > 0) {
    await pub.line(); // the warm-up part is all sent
    bare.send('window\n');
    await bare.line(); // it took its threads' times and started its clock
    pub.send('more\n');
    const w = JSON.parse(await bare.line()) as { received: number; seconds: number; threads: Split };
    bareWindow = { seconds: w.seconds, threads: w.threads, publisher_per_s: perS(JSON.parse(await pub.line())) };
  }
  await pub.rest();
  await bare.stop();
  const steady =
    threaded.window && bareWindow
      ? {
          warmup_messages: count,
          messages: window,
          service_per_s: Math.round(window / threaded.window.seconds),
          bare_per_s: Math.round(window / bareWindow.seconds),
          ratio: +(bareWindow.seconds / threaded.window.seconds).toFixed(3),
          // From "more" to the last message applied, as `threads` above is from "go".
          threads: threaded.window.threads,
          bare_threads: bareWindow.threads,
          // The publisher's own pace over each window: a baseline near it was paced by the
          // publisher, not by its own work (docs/benchmarks.md, What is measured).
          publisher_per_s: threaded.window.publisher_per_s,
          bare_publisher_per_s: bareWindow.publisher_per_s,
        }
      : undefined;
  return {
    messages: count,
    service_per_s: Math.round(count / threaded.seconds),
    single_thread_per_s: Math.round(count / single.seconds),
    // Where the service's time went (from "go" to the last message applied): the CPU per message
    // of its threads, and how much of the time its main and busiest other thread slept.
    threads: threaded.threads,
    single_thread_threads: single.threads,
    bare_per_s: Math.round(b.received / b.seconds),
    // The bare subscriber's threads alike (from "ready" on; its busiest other thread is
    // libzmq's I/O thread): the baseline for each of the service's thread figures.
    bare_threads: b.threads,
    ...(steady ? { steady_state: steady } : {}),
  };
}

/** Messages applied so far: a plugin's own answer (every message is in the last 24 hours). */
async function applied(base: string): Promise<number> {
  const day = (await (await fetch(`${base}/api/messages-last-24h`)).json()) as { volume: number }[];
  return day.reduce((n, r) => n + r.volume, 0);
}

/**
 * Seconds from the first to the last of `count` messages applied by a service started with
 * `args`, and what its threads spent meanwhile (threadSplit); with `window` > 0, then the
 * steady-state window: from telling the publisher "more" to the last of `window` more applied.
 */
async function timeService(pubEndpoint: string, count: number, args: string[], window = 0) {
  const pub = publisher(pubEndpoint, count, window);
  await pub.line();
  const s = await startService(args, pubEndpoint);
  await sleep(500); // the subscription reaches the publisher
  const pid = s.svc.proc.pid ?? 0;
  const kinds = await threadKinds(pid);
  const before = threadTimes(pid);
  const go = performance.now();
  pub.send('go\n');
  // Progress from a plugin's own answer (every message is in the last 24 hours): the intake
  // counters in /metrics say accepted, not applied, and a scrape costs more than this read.
  let first = 0;
  let applied = 0;
  const t0 = performance.now();
  while (applied < count) {
    await sleep(25);
    const day = (await (await fetch(`${s.base}/api/messages-last-24h`)).json()) as { volume: number }[];
    applied = day.reduce((n, r) => n + r.volume, 0);
    if (first === 0 && applied > 0) first = performance.now();
    if (performance.now() - t0 > 600_000) throw new Error(`ingest stalled at ${applied}/${count}`);
  }
  const end = performance.now();
  const threads = threadSplit(pid, before, threadTimes(pid), count, (end - go) / 1000, kinds);
  const seconds = (end - first) / 1000;
  const steady = window > 0 ? await steadyWindow(s.base, pid, pub, kinds, count, window) : undefined;
  await pub.rest();
  await s.svc.stop();
  return { seconds, threads, window: steady };
}

/**
 * The service's steady-state window: every warm-up message is applied (the service idles), so
 * the publisher is told "more" and the window runs to the last of its messages applied, read
 * every 25 ms as above (its end is up to a poll late, as the first figure's is).
 */
async function steadyWindow(
  base: string,
  pid: number,
  pub: ReturnType<typeof publisher>,
  kinds: ReadonlyMap<number, string>,
  warmup: number,
  window: number,
): Promise<Window> {
  await pub.line(); // the warm-up part is all sent
  // Threads made during the warm-up are classified now; those known from the start keep their kind.
  const windowKinds = new Map([...(await threadKinds(pid)), ...kinds]);
  const from = threadTimes(pid);
  const t0 = performance.now();
  pub.send('more\n');
  for (let n = 0; n < warmup + window; n = await applied(base)) {
    await sleep(25);
    if (performance.now() - t0 > 600_000) throw new Error(`ingest stalled at ${n}/${warmup + window}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const threads = threadSplit(pid, from, threadTimes(pid), window, seconds, windowKinds);
  return { seconds, threads, publisher_per_s: perS(JSON.parse(await pub.line()) as Sent) };
}
