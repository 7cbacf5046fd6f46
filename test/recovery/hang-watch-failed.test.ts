import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * The plugin hang watch thread (hang-watch.ts) failing is no reason to stop serving, but from
 * then on a plugin that hangs holds the process with nothing to end it: /readyz, /healthz and
 * statscache_degraded say so. Before, only the log did. The thread is made to fail as it starts
 * by STATSCACHE_TEST_HANG_WATCH_FAIL, which it reads itself.
 */
const FAIL = 'STATSCACHE_TEST_HANG_WATCH_FAIL';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  delete process.env[FAIL];
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });
const body = (r: { body?: unknown }) => JSON.parse(r.body as string) as Record<string, unknown>;

async function started(): Promise<Service> {
  const dir = tempDir();
  const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
  const s = await Service.build({ config, logger: pino({ level: 'silent' }) });
  cleanups.push(
    () => dir.remove(),
    () => s.stop(),
  );
  await s.start();
  return s;
}

describe('the plugin hang watch thread', () => {
  it('failing makes the instance degraded, naming it; running does not', async () => {
    process.env[FAIL] = '1';
    const failing = await started();
    const ready = await eventually(
      () => {
        const r = get(failing, '/readyz');
        return typeof body(r)['degraded'] === 'string' ? r : undefined;
      },
      10_000,
      'a degraded reason',
    );
    expect(ready.status).toBe(200);
    expect(body(ready)['degraded']).toMatch(
      /plugin hang watch thread failed \(.*hang watch failed \(test hook\).*\): a plugin that hangs now holds every read and probe until restart/,
    );
    const health = get(failing, '/healthz');
    expect(health.status).toBe(200);
    expect(body(health)['degraded']).toMatch(/plugin hang watch thread failed/);
    expect(await failing.metrics.refresh()).toMatch(/^statscache_degraded 1$/m);

    delete process.env[FAIL];
    const healthy = await started();
    expect(get(healthy, '/readyz').status).toBe(200);
    expect(body(get(healthy, '/readyz'))['degraded']).toBeUndefined();
  });
});
