/**
 * A bus message whose receive path throws (the journal refused its record: an LMDB read error
 * in the id lookup) is skipped: never journaled nor applied, so lost to this instance (no
 * backfill brings back a message it received). It was said only by a rate-limited log line and
 * statscache_intake_total{event="receive_errors"}: /healthz, /readyz and statscache_degraded
 * answered as if nothing was lost, even with every message refused. The AMQP intake says the
 * same loss in `degraded` (test/e2e/amqp-unjournaled.test.ts); the ZeroMQ bus now does too.
 *
 * Nothing sent on a real bus makes the journal refuse a record on demand, so the service runs
 * with the journal's test hook STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC (snapshots/journal.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const REFUSED = 'org.fedoraproject.prod.wiki.article.refused';

describe('bus messages the receive path fails on', () => {
  const dir = tempDir('statscache-receive-failed-');
  const services: RunningService[] = [];
  afterAll(async () => {
    for (const s of services) await s.stop('SIGKILL');
    dir.remove();
  });

  it.each(['true', 'false'])(
    '--bus-thread %s: are counted, and make /healthz, /readyz and statscache_degraded say they were lost',
    async (thread) => {
      const s = await startService(['--data-dir', `${dir.path}/${thread}`, '--bus-thread', thread], {
        STATSCACHE_TEST_JOURNAL_REFUSE_TOPIC: REFUSED,
      });
      services.push(s);
      await waitReady(s);
      const pub = await joinedPublisher(s);
      const now = Math.floor(Date.now() / 1000);
      const send = (topic: string, n: number) =>
        pub.send(topic, JSON.stringify({ topic, timestamp: now, msg_id: `2026-refused-${n}`, msg: { n } }));
      await send(TOPIC, 1);
      await send(REFUSED, 2);
      await send(REFUSED, 3);
      await send(TOPIC, 4);
      await eventually(
        async () =>
          (await metricOf(s.base, 'statscache_bus_accepted_total')) === 2 &&
          (await metricOf(s.base, 'statscache_intake_total', 'event="receive_errors"')) === 2
            ? true
            : undefined,
        30_000,
        'two accepted, two failed',
      );
      pub.close();
      const health = await getJson(`${s.base}/healthz`);
      expect(health.status).toBe(200);
      const said =
        /2 bus messages skipped this run because their receive path failed \(never journaled nor applied: lost to this instance\), the last at .*: the journal refused the record/;
      expect((health.body as { degraded?: string }).degraded).toMatch(said);
      const ready = await getJson(`${s.base}/readyz`);
      expect(ready.status).toBe(200);
      expect((ready.body as { degraded?: string }).degraded).toMatch(said);
      expect(await metricOf(s.base, 'statscache_degraded')).toBe(1);
    },
    90_000,
  );
});
