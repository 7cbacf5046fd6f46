import type { Config } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';

const silent = createLogger('silent');

/**
 * A service on `config`'s data dir, in this process, neither serving nor on the bus: it restores
 * and replays, takes `messages` into its intake, and stops (its final snapshot is a generation).
 */
export async function dataDirSession(config: Config, messages: readonly unknown[]): Promise<void> {
  const service = await Service.build({ config, logger: silent, checkDataFile: false });
  await service.recover();
  for (const m of messages) service.accept(m as Envelope);
  await service.settled();
  await service.stop();
}
