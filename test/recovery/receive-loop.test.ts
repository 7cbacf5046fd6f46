import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Publisher } from 'zeromq';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir, waitForSubscription } from '../helpers/service-process.js';

/**
 * A failure in the receive path skips that message, never the loop; if the loop ends anyway,
 * /healthz fails, /readyz says not ready and the owner is told (the CLI then exits 1). The failure is injected through
 * the log sink, which the receive path really calls: a sink that throws on "bus frame skipped"
 * makes the handling of one bad frame throw inside the loop.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });
type CategoryRow = { category: string; volume: number };
const rows = (s: Service) =>
  [...s.host.get('volume-by-category-1d')!.inspect().rows.values()] as unknown as CategoryRow[];
const total = (s: Service) => rows(s).reduce((a, r) => a + r.volume, 0);
const categoryTotal = (s: Service, category: string) =>
  rows(s).reduce((a, r) => a + (r.category === category ? r.volume : 0), 0);

async function setup(throwOn: readonly string[]) {
  const fatal: Error[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        for (const t of throwOn) if (line.includes(`"msg":"${t}"`)) throw new Error('log sink broken');
      },
    },
  );
  const dir = tempDir();
  const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
  const s = await Service.build({ config, logger, onFatal: (err) => fatal.push(err) });
  cleanups.push(
    () => dir.remove(),
    () => s.stop(),
  );
  await s.start();
  const pub = new Publisher({ linger: 0 });
  pub.connect(s.subscription!.bound[0]!);
  cleanups.push(() => pub.close());
  const send = (frames: string[]) => pub.send(frames);
  return {
    s,
    fatal,
    send,
    message: (n: number) =>
      send([
        'org.fedoraproject.prod.wiki.article.edit',
        JSON.stringify({
          topic: 'org.fedoraproject.prod.wiki.article.edit',
          timestamp: Date.now() / 1000,
          msg_id: `2026-loop-${n}`,
          msg: { user: 'u', title: `T${n}` },
        }),
      ]),
  };
}

describe('the bus receive loop', () => {
  it('skips a message whose handling throws, counts it, and goes on', async () => {
    const { s, fatal, send, message } = await setup(['bus frame skipped']);
    // The probe frames are invalid JSON: each one throws in the receive path from now on.
    await waitForSubscription(send, () => s.counters.frames);
    // A probe may still be in flight when the join is seen; message 1, delivered in order behind
    // every probe, says they have all been counted.
    await message(1);
    await eventually(() => (total(s) === 1 ? true : undefined), 5_000, 'the first real message');
    const errorsBefore = metricsValue(await s.metrics.refresh(), 'statscache_intake_total{event="receive_errors"}');
    expect(errorsBefore).toBeGreaterThanOrEqual(1);
    await send(['org.fedoraproject.prod.wiki.article.edit', '{not json']);
    await message(2);
    await eventually(() => (total(s) === 2 ? true : undefined), 5_000, 'both real messages after the failing one');
    const text = await s.metrics.refresh();
    expect(metricsValue(text, 'statscache_intake_total{event="receive_errors"}')).toBe(errorsBefore + 1);
    expect(get(s, '/healthz').status).toBe(200);
    expect(fatal).toEqual([]);
  });

  it('when the loop itself ends while running, /healthz fails with the reason and the owner is told once', async () => {
    // The error path throws too: nothing is left to catch it, the loop ends.
    const { s, fatal, send, message } = await setup(['bus frame skipped', 'receive path failed; message skipped']);
    expect(get(s, '/healthz').status).toBe(200);
    // Join with valid messages (counted), so the first bad frame is the one that breaks the loop.
    let n = 100;
    await waitForSubscription(
      () => message(n++),
      () => s.counters.frames,
    );
    // A joining message may still be in flight when the subscription is seen to work; one marker
    // on another category, delivered in order behind every one of them, says they have all landed.
    await send([
      'org.fedoraproject.prod.buildsys.build.state.change',
      JSON.stringify({
        topic: 'org.fedoraproject.prod.buildsys.build.state.change',
        timestamp: Date.now() / 1000,
        msg_id: '2026-loop-marker',
        msg: { owner: 'u', name: 'p' },
      }),
    ]);
    await eventually(() => (categoryTotal(s, 'buildsys') === 1 ? true : undefined), 5_000, 'the marker counted');
    const counted = total(s);
    expect(counted).toBeGreaterThanOrEqual(2);
    await send(['org.fedoraproject.prod.wiki.article.edit', '{not json']);
    await eventually(() => (fatal.length > 0 ? true : undefined), 5_000, 'onFatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.message).toMatch(/bus receive loop for bind ended: log sink broken/);
    const health = get(s, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body as string)).toMatchObject({
      status: 'failing',
      reason: expect.stringMatching(/receive loop/),
    });
    // Not ready either: a load balancer must stop sending readers to state that no longer moves.
    const ready = get(s, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body as string)).toMatchObject({
      status: 'not_ready',
      reason: expect.stringMatching(/^intake stopped: bus receive loop for bind ended/),
    });
    expect(metricsValue(await s.metrics.refresh(), 'statscache_ready')).toBe(0);
    // Intake really is dead, so the failing health check tells the truth: the receive path
    // closes (the bus thread exits, what it had read handled), and nothing reads message 3.
    let closed = false;
    void s.subscription!.done.then(() => (closed = true));
    await eventually(() => (closed ? true : undefined), 5_000, 'the receive path to close', 5);
    await message(3);
    expect(total(s)).toBe(counted);
  });
});

function metricsValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
