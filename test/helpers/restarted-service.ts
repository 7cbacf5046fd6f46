import { afterAll } from 'vitest';
import { Publisher } from 'zeromq';
import { resendUntilApplied } from './probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from './service-process.js';

export interface RestartedService {
  /** The publisher the service connects to: bind it before the first start. */
  readonly pub: Publisher;
  /** Starts the service on the same data dir (the previous one stopped), resolving once it is ready. */
  start(): Promise<RunningService>;
  /**
   * Publishes one message per body (ids `<idPrefix>-1`, `-2`, … across the suite, stamped 30 s
   * ago) as envelopes of `topic` on the bus topic `frameTopic`, until all are applied.
   */
  publish(s: RunningService, bodies: readonly unknown[], topic: string, frameTopic?: string): Promise<void>;
}

/**
 * For a describe whose tests stop and start `statscache serve` over one data dir (a snapshot,
 * a journal replay) and compare what it serves: the data dir, the publisher and the service
 * last started are cleaned up after the block.
 */
export function restartedService(idPrefix: string, args: readonly string[] = []): RestartedService {
  const dir = tempDir();
  let svc: RunningService | null = null;
  const pub = new Publisher({ linger: 0 });

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    pub.close();
    dir.remove();
  });

  let sent = 0;
  return {
    pub,
    async start() {
      svc = await startService(['--connect', pub.lastEndpoint as string, '--data-dir', dir.path, ...args]);
      const s = svc;
      await eventually(async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined));
      return s;
    },
    async publish(s, bodies, topic, frameTopic = topic) {
      const base = Date.now() / 1000 - 30;
      const frames = bodies.map((msg) => {
        const n = ++sent;
        return [frameTopic, JSON.stringify({ topic, timestamp: base + n / 1000, msg_id: `${idPrefix}-${n}`, msg })];
      });
      await resendUntilApplied(s.base, (f) => pub.send(f), frames, sent);
    },
  };
}
