import type { Clock } from '../../src/clock.js';
import { type ConfigKey, loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';

/**
 * A Service in this process for history queries: uWS on an ephemeral port, a wildcard ZeroMQ
 * bind no test publishes to, LMDB in `dataDir`, no periodic snapshot, and `flags` (the scan
 * gate's settings) over that. No plugins unless given: the journal is what is read.
 */
export async function startHistoryService(
  dataDir: string,
  flags: Partial<Record<ConfigKey, unknown>>,
  options: { plugins?: readonly unknown[]; clock?: Clock } = {},
): Promise<Service> {
  const config = loadConfig({
    env: {},
    flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir, snapshotInterval: 3600, ...flags },
  });
  const service = await Service.build({
    config,
    logger: createLogger('silent'),
    plugins: options.plugins ?? [],
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await service.start();
  return service;
}

/**
 * Hands `count` envelopes to the intake as the bus would (de-duplicated, journaled, applied),
 * letting it settle every 2,000 and at the end.
 */
export async function acceptSettled(service: Service, count: number, envelope: (i: number) => Envelope): Promise<void> {
  for (let i = 0; i < count; i++) {
    service.accept(envelope(i));
    if (i % 2000 === 1999) await service.settled();
  }
  await service.settled();
}
