/**
 * What the AMQP tests of held and refused deliveries share: a describe block's real RabbitMQ
 * (STATSCACHE_TEST_AMQP_URL, else a private rabbitmq-server: test/helpers/rabbitmq.ts), one
 * publisher, and services consuming durable (or server-named) queues of their own through a TCP proxy
 * (test/helpers/tcp-proxy.ts), so a test can cut or stall their connection. Services are
 * killed, queues deleted and data dirs removed after the block.
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { connectAmqpPublisher, type TestPublisher } from './amqp-publisher.js';
import { consumingInput } from './amqp-readiness.js';
import { metricOf } from './probes.js';
import type { TestBroker } from './rabbitmq.js';
import { sharedBroker } from './shared-broker.js';
import { eventually, startService, tempDir, type RunningService } from './service-process.js';
import { tcpProxy } from './tcp-proxy.js';

export interface ProxiedService {
  readonly running: RunningService;
  readonly proxy: Awaited<ReturnType<typeof tcpProxy>>;
  /** A topic of this service's own, bound on its queue. */
  readonly topic: string;
  readonly queue: string;
  /** A statscache_amqp_<name> sample of this service's input (by reason for decode errors). */
  series(name: string, reason?: string): Promise<number>;
}

export function amqpQueueSuite() {
  const suite = `statscache-test-${randomUUID()}`;
  let broker: TestBroker | undefined;
  let pub: TestPublisher | undefined;
  const started: { running: RunningService; proxy: ProxiedService['proxy']; queue: string; dir: () => void }[] = [];
  beforeAll(async () => {
    broker = await sharedBroker();
    pub = await connectAmqpPublisher(broker.url);
  }, 150_000);
  afterAll(async () => {
    for (const s of started) await s.running.stop('SIGKILL');
    await pub?.close();
    if (broker) {
      const conn = await amqplib.connect(broker.url);
      const ch = await conn.createChannel();
      for (const s of started) if (s.queue !== '') await ch.deleteQueue(s.queue).catch(() => undefined);
      await conn.close();
    }
    for (const s of started) {
      s.proxy.close();
      s.dir();
    }
    await broker?.stop();
  }, 60_000);

  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('amqpQueueSuite: the broker is not up (beforeAll failed?)');
    return v;
  };
  const launch = async (
    name: string,
    flags: readonly string[],
    durable: boolean,
    env: NodeJS.ProcessEnv = {},
  ): Promise<ProxiedService> => {
    const b = need(broker);
    const proxy = await tcpProxy(new URL(b.url).port);
    const dir = tempDir();
    const queue = durable ? `${suite}-${name}` : '';
    const topic = `org.fedoraproject.prod.${name.replace(/[^a-z]/g, '')}${randomUUID().slice(0, 8)}.thing`;
    let running: RunningService;
    try {
      running = await startService(
        [
          '--data-dir',
          dir.path,
          '--snapshot-interval',
          '3600',
          '--amqp',
          b.url.replace(/:\d+\//, `:${proxy.port}/`),
          ...(durable ? ['--amqp-queue', queue] : []),
          '--amqp-binding',
          topic,
          '--amqp-reconnect-max',
          '1',
          ...flags,
        ],
        env,
      );
    } catch (err) {
      proxy.close();
      dir.remove();
      throw err;
    }
    started.push({ running, proxy, queue, dir: () => dir.remove() });
    const input = await consumingInput(running);
    return {
      running,
      proxy,
      topic,
      queue,
      series: (n, reason) =>
        metricOf(running.base, `statscache_amqp_${n}`, `input="${input}"${reason ? `,reason="${reason}"` : ''}`),
    };
  };
  return {
    get broker(): TestBroker {
      return need(broker);
    },
    get pub(): TestPublisher {
      return need(pub);
    },
    /**
     * A service consuming a durable queue named after `name` (its binding a topic of its own)
     * through a new proxy, `--amqp-reconnect-max 1` so a cut connection comes back at once;
     * resolves once it consumes. `env`: the service's own extra variables (test hooks).
     */
    start(name: string, flags: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProxiedService> {
      return launch(name, flags, true, env);
    },
    /** As start(), on a server-named (exclusive, auto-delete) queue: `queue` is empty, /readyz names each connection's. */
    startServerNamed(name: string, flags: readonly string[] = []): Promise<ProxiedService> {
      return launch(name, flags, false);
    },
    /** Resolves once `queue` holds nothing and `also()` holds (read from the broker, not the service). */
    async drained(
      queue: string,
      also: (q: { consumerCount: number }) => Promise<boolean>,
      ms: number,
      what: string,
    ): Promise<void> {
      const conn = await amqplib.connect(need(broker).url);
      try {
        const ch = await conn.createChannel();
        await eventually(
          async () => {
            const q = await ch.checkQueue(queue);
            return q.messageCount === 0 && (await also(q)) ? true : undefined;
          },
          ms,
          what,
        );
      } finally {
        await conn.close();
      }
    },
  };
}
