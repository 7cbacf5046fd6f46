import { readFileSync } from 'node:fs';
import { Publisher } from 'zeromq';
import { eventually, getJson, type RunningService } from './service-process.js';

/**
 * What end-to-end tests read from a running service over HTTP, the way an operator would:
 * one /metrics sample, readiness, per-plugin digests, the journal's size.
 */

/** One sample of a Prometheus text exposition (`labels` as written inside `{}`), 0 when the series is absent. */
export function sampleOf(text: string, name: string, labels = ''): number {
  const series = `${name}${labels ? `{${labels}}` : ''} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

export const metricsText = async (base: string): Promise<string> => String((await getJson(`${base}/metrics`)).body);

/** One sample of the service's /metrics (`labels` as written inside `{}`), 0 when the series is absent. */
export async function metricOf(base: string, name: string, labels = ''): Promise<number> {
  return sampleOf(await metricsText(base), name, labels);
}

/** Resolves once /readyz answers 200. */
export const waitReady = (svc: RunningService, ms = 30_000, what = 'ready'): Promise<true> =>
  eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined), ms, what);

/** Each plugin's state digest from /plugins, by ident. */
export async function digestsOf(base: string): Promise<Record<string, string>> {
  const body = (await getJson(`${base}/plugins`)).body as { plugins: { ident: string; digest: string }[] };
  return Object.fromEntries(body.plugins.map((p) => [p.ident, p.digest]));
}

/** Messages the journal holds, as its /raw reports the total. */
export const journaledTotal = async (base: string): Promise<number | undefined> =>
  ((await getJson(`${base}/raw?rows_per_page=1`)).body as { total?: number }).total;

/**
 * Whether the journal holds `total` messages and the plugins have applied all of them: /raw
 * reads what LMDB has committed, and a batch is applied just after its commit, so the journal
 * can be a batch ahead of the views for a moment (statscache_journal_applied_seq tells).
 */
export async function journaledAndApplied(base: string, total: number): Promise<boolean> {
  if ((await journaledTotal(base)) !== total) return false;
  // Both from one scrape: the same instant, and one rendering instead of two.
  const text = await metricsText(base);
  return sampleOf(text, 'statscache_journal_applied_seq') === sampleOf(text, 'statscache_journal_last_seq');
}

/**
 * Messages per user over every bucket of volume-by-user-1m's first 100 rows. Own members only:
 * a user named `constructor` or `toJSON` counts as itself, not onto Object.prototype's member.
 */
export async function volumeByUser(base: string): Promise<Record<string, number>> {
  const res = await getJson(`${base}/api/volume-by-user-1m?rows_per_page=100`);
  if (res.status !== 200) throw new Error(`volume-by-user-1m answered ${res.status}`);
  const out: Record<string, number> = {};
  for (const r of res.body as { user: string; volume: number }[])
    out[r.user] = (Object.hasOwn(out, r.user) ? (out[r.user] as number) : 0) + r.volume;
  return out;
}

/**
 * Sends `frames` again and again until the service has journaled and applied `total` messages:
 * a SUB socket misses what is published before its subscription reaches the publisher (slow
 * joiner), and a repeat of a message it did get is a duplicate (same id), never counted twice.
 */
export async function resendUntilApplied(
  base: string,
  send: (frames: string[]) => Promise<void>,
  frames: readonly string[][],
  total: number,
): Promise<void> {
  await eventually(
    async () => {
      for (const f of frames) await send(f);
      return (await journaledAndApplied(base, total)) ? true : undefined;
    },
    20_000,
    'messages journaled and applied',
  );
}

/**
 * Resolves with the first log line `match` accepts, once the service's stdout has brought it.
 * The service logs asynchronously (log-output.ts) and the line comes over a pipe, so it can
 * reach this process after an HTTP answer showing what happened after it was logged.
 */
export const loggedLine = (
  svc: Pick<RunningService, 'logs'>,
  match: (line: string) => boolean,
  what: string,
  ms = 10_000,
): Promise<string> => eventually(() => svc.logs.find(match), ms, `${what} logged`);

/** A real ZeroMQ publisher connected to a service's bind, like a fedmsg emitter. */
export interface BusPublisher {
  send(topic: string, body: string): Promise<void>;
  sendRaw(frames: (string | Buffer)[]): Promise<void>;
  close(): void;
}

/**
 * Resolves once a publisher's subscription has joined: PUB/SUB drops what is sent before the
 * subscription reaches the publisher ("slow joiner"), so it sends probes (invalid JSON, counted
 * in statscache_bus_frames_total and skipped, never journaled) until the service has counted one
 * more frame than before the first. Nothing else may publish to the service meanwhile. The
 * service counts frames once it is ready (live intake waits for replay and start-up backfill),
 * so the wait is as long as a start may take on a loaded machine.
 */
export async function probeUntilJoined(
  svc: Pick<RunningService, 'base'>,
  send: (frames: string[]) => Promise<void>,
): Promise<void> {
  const before = await metricOf(svc.base, 'statscache_bus_frames_total');
  await eventually(
    async () => {
      await send(['org.test.statscache.probe', '{not json']);
      return (await metricOf(svc.base, 'statscache_bus_frames_total')) > before ? true : undefined;
    },
    30_000,
    'subscription joined',
  );
}

/** A publisher connected to the service's bind, returned once its subscription has joined (probeUntilJoined). */
export async function joinedPublisher(svc: Pick<RunningService, 'bound' | 'base'>): Promise<BusPublisher> {
  const pub = new Publisher({ linger: 2000 });
  pub.connect(svc.bound);
  try {
    await probeUntilJoined(svc, (frames) => pub.send(frames));
  } catch (err) {
    pub.close();
    throw err;
  }
  return {
    send: (topic, body) => pub.send([topic, body]),
    sendRaw: (frames) => pub.send(frames),
    close: () => pub.close(),
  };
}

/** Anonymous resident memory of a process (heap, libzmq's queues; not LMDB's file-backed map), in MiB. */
export function rssAnonMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('RssAnon:'));
  return Number(line?.replace(/\D+/g, '') ?? Number.NaN) / 1024;
}

/**
 * Samples a process's anonymous memory every `everyMs`: `growth()` is the peak over where it
 * started, in MiB (a last sample taken at the call); `stop()` ends the sampling (idempotent).
 */
export function peakRss(pid: number, everyMs: number): { growth(): number; stop(): void } {
  const before = rssAnonMiB(pid);
  let peak = before;
  const sample = () => {
    try {
      peak = Math.max(peak, rssAnonMiB(pid));
    } catch {
      // The process is gone: its peak is what was sampled.
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    growth: () => {
      sample();
      return peak - before;
    },
    stop: () => clearInterval(timer),
  };
}
