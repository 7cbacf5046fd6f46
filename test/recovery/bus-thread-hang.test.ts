import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Publisher } from 'zeromq';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir, waitForSubscription } from '../helpers/service-process.js';

/**
 * --thread-hang-timeout for the bus thread: one stuck in synchronous code (made to spin on one
 * topic by STATSCACHE_TEST_BUS_THREAD_SPIN_TOPIC, which the thread reads as it starts) stops
 * intake as a receive loop that ended does: /healthz and /readyz 503, the owner told (the CLI
 * exits 1). Before, intake stopped in silence with both answering 200. A quiet bus is no hang.
 */
const SPIN = 'STATSCACHE_TEST_BUS_THREAD_SPIN_TOPIC';
const SPIN_TOPIC = 'org.fedoraproject.prod.test.spin';
const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  delete process.env[SPIN];
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });
const body = (r: { body?: unknown }) => JSON.parse(r.body as string) as Record<string, unknown>;
const metricsValue = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};
const edit = (n: number) => [
  TOPIC,
  JSON.stringify({
    topic: TOPIC,
    timestamp: Date.now() / 1000,
    msg_id: `2026-hang-${n}`,
    msg: { user: 'u', title: `T${n}` },
  }),
];

describe('a bus thread that hangs (--thread-hang-timeout)', () => {
  it('stops intake with /healthz and /readyz failing; a quiet bus does not', async () => {
    process.env[SPIN] = SPIN_TOPIC;
    const fatal: Error[] = [];
    const dir = tempDir();
    const config = loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], threadHangTimeout: 1 },
    });
    const s = await Service.build({ config, logger: pino({ level: 'silent' }), onFatal: (err) => fatal.push(err) });
    cleanups.push(
      () => dir.remove(),
      () => s.stop(),
    );
    await s.start();
    const pub = new Publisher({ linger: 0 });
    pub.connect(s.subscription?.bound[0] as string);
    cleanups.push(() => pub.close());
    let n = 0;
    await waitForSubscription(
      () => pub.send(edit(n++)),
      () => s.counters.frames,
    );
    // Quiet for three timeouts: the idle thread beats, nothing is taken for a hang.
    const quietUntil = performance.now() + 3_000;
    while (performance.now() < quietUntil) await new Promise((r) => setTimeout(r, 100));
    expect(fatal).toEqual([]);
    expect(get(s, '/healthz').status).toBe(200);
    expect(get(s, '/readyz').status).toBe(200);
    expect(metricsValue(await s.metrics.refresh(), 'statscache_healthy')).toBe(1);

    await pub.send([SPIN_TOPIC, '{}']);
    // Bounded by the wait, not asserted as a time: the timeout, a tenth of it for the poll, and the
    // thread's last beat come to about 2 s; a loaded box may take longer.
    await eventually(() => (fatal.length > 0 ? true : undefined), 20_000, 'onFatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.message).toMatch(
      /^bus receive loop for bus-thread ended: the bus thread made no progress for \d+ s \(--thread-hang-timeout 1 s\)/,
    );
    const health = get(s, '/healthz');
    expect(health.status).toBe(503);
    expect(body(health)).toMatchObject({
      status: 'failing',
      reason: expect.stringMatching(/bus thread made no progress/),
    });
    const ready = get(s, '/readyz');
    expect(ready.status).toBe(503);
    expect(body(ready)['reason']).toMatch(/^intake stopped: bus receive loop for bus-thread ended/);
    const metrics = await s.metrics.refresh();
    expect(metricsValue(metrics, 'statscache_ready')).toBe(0);
    // Not ready is also what a start says: this one tells a dead intake apart.
    expect(metricsValue(metrics, 'statscache_healthy')).toBe(0);
    expect(metricsValue(metrics, 'statscache_intake_total{event="bus_thread_hangs"}')).toBe(1);
    // The stuck thread is ended: the stop the owner starts completes (a thread left spinning would
    // keep it waiting past the test's timeout), and the thread's end is counted once.
    await s.stop();
    expect(metricsValue(await s.metrics.refresh(), 'statscache_intake_total{event="bus_thread_hangs"}')).toBe(1);
  }, 60_000);
});
