/**
 * A service built in this process consuming one AMQP input bound to `prefix`.# (its own routing
 * keys: a shared broker's other publishers never reach its queue), started and seen consuming;
 * its stop and its data dir's removal are pushed onto `cleanups`, which the caller runs.
 * `consumingSuite()` gives a test file the broker and runs the cleanups after each test.
 */
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import type { TestBroker } from './rabbitmq.js';
import { sharedBroker } from './shared-broker.js';
import { eventually, tempDir } from './service-process.js';

export type Cleanups = (() => Promise<unknown> | unknown)[];

/**
 * The file's real RabbitMQ (test/helpers/shared-broker.ts), and cleanups (services, folders,
 * publishers, spies) run after each test, newest first.
 */
export function consumingSuite(): {
  readonly url: () => string;
  readonly cleanups: Cleanups;
  consumingService(
    prefix: string,
    logger: Logger,
    flags?: Partial<Config>,
    clock?: Clock,
    onFatal?: (err: Error) => void,
  ): Promise<Service>;
} {
  let broker: TestBroker | undefined;
  beforeAll(async () => {
    broker = await sharedBroker();
  }, 120_000);
  afterAll(() => broker?.stop());
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const url = () => {
    if (broker === undefined) throw new Error('consumingSuite: the broker is not up (beforeAll failed?)');
    return broker.url;
  };
  return {
    url,
    cleanups,
    consumingService: (prefix, logger, flags = {}, clock, onFatal) =>
      consumingService(url(), cleanups, prefix, logger, flags, clock, onFatal),
  };
}

export async function consumingService(
  brokerUrl: string,
  cleanups: Cleanups,
  prefix: string,
  logger: Logger,
  flags: Partial<Config> = {},
  clock?: Clock,
  /** What the CLI is told when intake stops for good (service-start.ts die()); unset: nothing. */
  onFatal?: (err: Error) => void,
): Promise<Service> {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: dir.path,
      port: 0,
      bind: ['tcp://127.0.0.1:*'],
      amqp: [brokerUrl],
      amqpBinding: [`${prefix}.#`],
      ...flags,
    },
  });
  const s = await Service.build({ config, logger, ...(clock ? { clock } : {}), ...(onFatal ? { onFatal } : {}) });
  cleanups.push(() => s.stop());
  await s.start();
  await eventually(
    () => (s.amqp.reports()[0]?.state === 'consuming' ? true : undefined),
    30_000,
    'the input consuming',
  );
  return s;
}

/**
 * The msg_ids `s` journals, in order, as it journals them (spies on both ways into this
 * service's journal, which go with it). `acceptPrefix` marks those journaled through `accept()`
 * (a body parsed on the main thread) rather than `acceptEncoded()` (prepared off it), for tests
 * that tell them apart.
 */
export function journalOrder(s: Service, acceptPrefix = ''): string[] {
  const journaled: string[] = [];
  const accept = s.journal.accept.bind(s.journal);
  vi.spyOn(s.journal, 'accept').mockImplementation((envelope) => {
    journaled.push(`${acceptPrefix}${String(envelope.msg_id)}`);
    return accept(envelope);
  });
  const acceptEncoded = s.journal.acceptEncoded.bind(s.journal);
  vi.spyOn(s.journal, 'acceptEncoded').mockImplementation((id, envelope, value, meta) => {
    journaled.push(String(envelope.msg_id));
    return acceptEncoded(id, envelope, value, meta);
  });
  return journaled;
}
