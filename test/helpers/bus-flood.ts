/**
 * What the bus-flood tests share: an operator plugin slow enough that a publisher outruns it, a
 * relay the service --connects to, and a sampler of the service's anonymous memory.
 */
import { Publisher } from 'zeromq';
import { metricOf, rssAnonMiB } from './probes.js';
import { eventually, type RunningService } from './service-process.js';

/** An operator plugin that costs ~0.5 ms of CPU per message: intake applies ~2 k msg/s at most. */
export const SLOW_PLUGIN = `export default {
  name: 'Slow', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update() {
    const until = performance.now() + 0.5;
    while (performance.now() < until);
  },
};`;

export type Send = (topic: string, body: string) => Promise<void>;

/** A publisher bound for the service to --connect to, like a fedmsg relay, joined once a probe gets through. */
export async function relay(): Promise<{
  endpoint: string;
  join(svc: RunningService): Promise<void>;
  send: Send;
  close(): void;
}> {
  const pub = new Publisher({ linger: 0 });
  await pub.bind('tcp://127.0.0.1:*');
  return {
    endpoint: pub.lastEndpoint as string,
    join: async (svc) => {
      await eventually(
        async () => {
          await pub.send(['org.test.statscache.probe', '{not json']);
          return (await metricOf(svc.base, 'statscache_bus_frames_total')) > 0 ? true : undefined;
        },
        10_000,
        'subscription joined',
      );
    },
    send: (topic, body) => pub.send([topic, body]),
    close: () => pub.close(),
  };
}

/** Samples the service's anonymous memory every 50 ms; `growth()` is the peak over where it started, in MiB. */
export function memorySampler(s: RunningService): { growth(): number; stop(): void } {
  const pid = s.child.pid as number;
  const before = rssAnonMiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssAnonMiB(pid));
  }, 50);
  s.child.once('exit', () => clearInterval(timer));
  return { growth: () => peak - before, stop: () => clearInterval(timer) };
}
