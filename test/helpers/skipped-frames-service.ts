import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { tempDir } from './service-process.js';
import { type ServicePublisher, servicePublisher } from './service-publisher.js';

/**
 * A started service on a real ZeroMQ bind (its bus thread on or off) with a publisher joined to
 * it, and the details of the bus frames it logs as skipped for `reason`, in the order logged: for
 * tests of what a refusal says whichever thread decoded it. What it opens is pushed onto
 * `cleanups` (run them in reverse).
 */
export async function skippedFramesService(
  reason: string,
  busThread: boolean,
  cleanups: (() => Promise<unknown> | void)[],
): Promise<{ service: Service; pub: ServicePublisher; details: string[] }> {
  const details: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; reason?: string; detail?: string };
        if (entry.msg === 'bus frame skipped' && entry.reason === reason) details.push(entry.detail ?? '');
      },
    },
  );
  const dir = tempDir();
  const flags = { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], busThread };
  const service = await Service.build({ config: loadConfig({ env: {}, flags }), logger });
  cleanups.push(
    () => dir.remove(),
    () => service.stop(),
  );
  await service.start();
  const pub = servicePublisher(service);
  cleanups.push(() => pub.close());
  await pub.join();
  return { service, pub, details };
}
