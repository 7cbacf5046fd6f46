import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { type Clock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * No false alarm for a quiet bus. The lag watch (lag-watch.ts) samples the intake's counters
 * only when readiness is asked; an instance nobody asked for an hour (no probes, no scrapes)
 * counted a burst taken in an hour ago as messages that "keep coming", dated an hour ago: the
 * first /readyz, /healthz and /metrics after the quiet hour said "intake is behind the bus".
 * The clock is injected and moved on by an hour; the bus, the LMDB file and HTTP are real.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';

describe('a quiet bus', () => {
  it('is not "behind" after an hour nobody asked, and intake that is behind is still said to be', async () => {
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset, every: systemClock.every, aligned: systemClock.aligned };
    const dir = tempDir();
    const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
    const s = await Service.build({ config, logger: createLogger('silent'), clock });
    cleanups.push(
      () => dir.remove(),
      () => s.stop(),
    );
    await s.start();
    const base = `http://127.0.0.1:${s.server?.port}`;
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`);
      return { status: r.status, text: await r.text() };
    };
    const metric = (text: string, series: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.slice(series.length + 1),
      );
    const pub = new Publisher({ linger: 0 });
    pub.connect(s.subscription?.bound[0] ?? '');
    cleanups.push(() => pub.close());
    let n = 0;
    const send = (ageSeconds: number) =>
      pub.send([
        TOPIC,
        JSON.stringify({
          topic: TOPIC,
          timestamp: clock.now() / 1000 - ageSeconds,
          msg_id: `2026-quiet-${n++}`,
          msg: { user: 'u', title: `T${n}` },
        }),
      ]);
    const burst = async (ageSeconds: number) => {
      const target = s.counters.accepted + 150;
      for (let i = 0; i < 150; i++) await send(ageSeconds);
      await eventually(() => (s.counters.accepted >= target ? true : undefined), 10_000, 'the burst taken in');
    };

    expect((await get('/readyz')).status).toBe(200);
    // The subscription joins (a new subscriber misses the first messages), then a burst of 150.
    await eventually(async () => {
      await send(0);
      return s.counters.accepted > 0 ? true : undefined;
    }, 10_000);
    await burst(0);
    const busy = JSON.parse((await get('/readyz')).text) as { degraded?: string };
    expect(busy.degraded).toBeUndefined();

    // An hour of silence, and nobody asked meanwhile.
    offset += 3_600_000;
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).not.toHaveProperty('degraded');
    expect(JSON.parse((await get('/healthz')).text)).not.toHaveProperty('degraded');
    const metrics = (await get('/metrics')).text;
    expect(metric(metrics, 'statscache_degraded')).toBe(0);
    expect(metric(metrics, 'statscache_intake_lag_seconds')).toBe(0);

    // Messages that do keep coming dated 10 minutes ago are still intake behind, 40 s on.
    await burst(600);
    offset += 40_000;
    expect(JSON.parse((await get('/readyz')).text).degraded).toMatch(
      /intake is behind the bus: the newest live message/,
    );

    // One message dated as far ahead as --max-clock-skew allows (a publisher's clock ahead) must
    // not hide it: taken as the newest, it made every older message look current for the skew
    // plus the limit (~7 minutes at the default skew).
    const ahead = config.maxClockSkew - 5;
    const target = s.counters.accepted + 1;
    await send(-ahead);
    await eventually(() => (s.counters.accepted >= target ? true : undefined), 10_000, 'the message dated ahead');
    // Applied (after its journal commit) before the clock moves on.
    await s.settled();
    // Counted as taken in when it was: current for the limit (120 s), as an honest one would be...
    offset += 60_000;
    await burst(600);
    expect(JSON.parse((await get('/readyz')).text)).not.toHaveProperty('degraded');
    // ...and no longer: old messages keep coming, 130 s after it, well before its own date.
    offset += 70_000;
    await burst(600);
    expect(JSON.parse((await get('/readyz')).text).degraded).toMatch(
      /intake is behind the bus: the newest live message taken in is dated 13\d s ago/,
    );
  }, 60_000);
});
