/**
 * A host clock behind its publishers (or every publisher ahead) makes intake refuse nearly
 * every message as future_timestamp: the service takes nothing in. Health checks must say so,
 * over the real CLI and a real ZeroMQ publisher, and stop saying so once messages pass again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, journaledAndApplied, metricOf } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const degradedOf = async (base: string) => ((await getJson(`${base}/readyz`)).body as { degraded?: string }).degraded;

type Publisher = Awaited<ReturnType<typeof joinedPublisher>>;

/** Publishes `n` wiki edits dated `offset` seconds from now (negative: in the past), ids `<tag>-<i>`. */
async function sendDated(pub: Publisher, n: number, offset: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const m = {
      topic: 'org.fedoraproject.prod.wiki.article.edit',
      timestamp: Date.now() / 1000 + offset,
      msg_id: `${tag}-${i}`,
      msg: {},
    };
    await pub.send(m.topic, JSON.stringify(m));
  }
}

describe('health when most messages are dated ahead of the clock', () => {
  const dir = tempDir('statscache-skew-');
  let svc: RunningService | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('/readyz and /healthz are degraded while most are refused, and plain again once they pass', async () => {
    svc = await startService(['--data-dir', dir.path, '--max-clock-skew', '60']);
    const s = svc;
    const pub = await joinedPublisher(s);
    expect(await degradedOf(s.base)).toBeUndefined();
    const send = (n: number, offset: number, tag: string) => sendDated(pub, n, offset, tag);
    await send(100, 3600, 'ahead');
    await eventually(
      async () =>
        (await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="future_timestamp"')) === 100
          ? true
          : undefined,
      10_000,
      'the refusals counted',
    );
    const degraded = await degradedOf(s.base);
    expect(degraded).toMatch(
      /most messages refused as dated ahead of this host's clock \(future_timestamp\): 100 of 100/,
    );
    expect(degraded).toMatch(/--max-clock-skew 60 s/);
    // The same reason, read a moment later: only its "in the last N s" may have moved on.
    const sinceMasked = (text: string | undefined) => text?.replace(/ in the last \d+ s/, ' in the last N s');
    expect(sinceMasked(((await getJson(`${s.base}/healthz`)).body as { degraded?: string }).degraded)).toBe(
      sinceMasked(degraded),
    );
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(1);
    // The clocks agree again: most messages pass, and the reason goes.
    await send(300, 0, 'now');
    await eventually(
      async () => ((await metricOf(s.base, 'statscache_bus_accepted_total')) >= 300 ? true : undefined),
      10_000,
      'the good messages accepted',
    );
    expect(await degradedOf(s.base)).toBeUndefined();
    pub.close();
  });

  it('says intake is behind the bus while live messages keep coming dated long ago, and not once they are fresh', async () => {
    // A publisher faster than the plugins apply queues the rest in memory (libzmq's receive queue
    // was unbounded, as fedmsg's; now up to --bus-queue-max): 30 k msg/s against ~5 k applied grew the process to 1.17 GB in
    // 30 s while both probes said ok. Messages dated 10 minutes back are what such a backlog hands in.
    const lagDir = tempDir('statscache-lag-');
    const lagging = await startService(['--data-dir', lagDir.path]);
    try {
      const pub = await joinedPublisher(lagging);
      expect(await degradedOf(lagging.base)).toBeUndefined();
      expect(await metricOf(lagging.base, 'statscache_intake_lag_seconds')).toBe(0);
      const send = (n: number, age: number, tag: string) => sendDated(pub, n, -age, tag);
      // Fewer than LAG_MIN_MESSAGES (100) old ones: no conclusion drawn.
      await send(50, 600, 'few');
      await eventually(
        // Applied, not only accepted: until the plugins apply them no message is taken in, and
        // "no conclusion" below would hold whatever LAG_MIN_MESSAGES says.
        async () => ((await journaledAndApplied(lagging.base, 50)) ? true : undefined),
        10_000,
        'the first old messages applied',
      );
      expect(await degradedOf(lagging.base)).toBeUndefined();
      await send(150, 600, 'old');
      await eventually(
        // Applied, not only accepted: the lag is read from what the plugins applied, a journal
        // commit after the bus counts a message.
        async () => ((await journaledAndApplied(lagging.base, 200)) ? true : undefined),
        10_000,
        'the old messages applied',
      );
      expect(await degradedOf(lagging.base)).toMatch(
        /intake is behind the bus: the newest live message taken in is dated 6\d\d s ago/,
      );
      expect(await metricOf(lagging.base, 'statscache_intake_lag_seconds')).toBeGreaterThanOrEqual(600);
      expect(await metricOf(lagging.base, 'statscache_degraded')).toBe(1);
      // Caught up: the newest message taken in is fresh again.
      await send(1, 0, 'fresh');
      await eventually(
        // Applied, not only accepted: the lag is read from what the plugins applied, a journal
        // commit after the bus counts a message.
        async () => ((await journaledAndApplied(lagging.base, 201)) ? true : undefined),
        10_000,
        'the fresh message applied',
      );
      expect(await degradedOf(lagging.base)).toBeUndefined();
      expect(await metricOf(lagging.base, 'statscache_intake_lag_seconds')).toBeLessThan(5);
      pub.close();
    } finally {
      await lagging.stop('SIGKILL');
      lagDir.remove();
    }
  });
});
