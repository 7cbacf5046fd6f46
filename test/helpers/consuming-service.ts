/**
 * A service built in this process consuming one AMQP input bound to `prefix`.# (its own routing
 * keys: a shared broker's other publishers never reach its queue), started and seen consuming;
 * its stop and its data dir's removal are pushed onto `cleanups`, which the caller runs.
 */
import type { Clock } from '../../src/clock.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from './service-process.js';

export async function consumingService(
  brokerUrl: string,
  cleanups: (() => unknown)[],
  prefix: string,
  logger: Logger,
  flags: Partial<Config> = {},
  clock?: Clock,
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
  const s = await Service.build({ config, logger, ...(clock ? { clock } : {}) });
  cleanups.push(() => s.stop());
  await s.start();
  await eventually(
    () => (s.amqp.reports()[0]?.state === 'consuming' ? true : undefined),
    30_000,
    'the input consuming',
  );
  return s;
}
