/**
 * `--topic` is a subscription: ZeroMQ filters on the first frame, but every statistic is keyed
 * by the envelope's own topic. So a message whose first frame matched while its envelope named
 * a topic outside every prefix (fedmsg.md: the two are the same; a publisher's slip or choice)
 * was counted, and a backfill from `--datagrepper`, which serves every topic of its window,
 * counted every message of the window: a restart of an instance subscribed to prod topics
 * added the staging traffic of its downtime. Now a message of another topic is refused live
 * (`bad_topic`) and skipped by backfill (`backfill_unsubscribed`); the same holds for
 * `--amqp-binding` patterns when the service consumes AMQP.
 */
import { afterAll, expect, it } from 'vitest';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import type { TestBroker } from '../helpers/rabbitmq.js';
import { sharedBroker } from '../helpers/shared-broker.js';
import { consumingInput } from '../helpers/amqp-readiness.js';
import { Publisher } from 'zeromq';
import { journaledTotal, metricOf, metricsText, probeUntilJoined, sampleOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const dir = tempDir();
const amqpDir = tempDir();
const dg = new FakeDatagrepper();
let svc: RunningService | null = null;
let broker: TestBroker | null = null;
afterAll(async () => {
  await svc?.stop('SIGKILL');
  await broker?.stop();
  await dg.close();
  dir.remove();
  amqpDir.remove();
});

const PROD = 'org.fedoraproject.prod.wiki.article.edit';
const STG = 'org.fedoraproject.stg.wiki.article.edit';

const msg = (topic: string, id: string, timestamp: number): Stored => ({
  topic,
  timestamp,
  msg_id: id,
  msg: { user: 'someone' },
});

type RawPage = { raw_messages: { msg_id: string }[]; total: number };

it('counts only the subscribed topics, live and backfilled', async () => {
  const now = Math.floor(Date.now() / 1000);
  // The history holds what the bus carried before the start: both environments.
  dg.messages.push(msg(PROD, '2026-topics-prod-archived', now - 120), msg(STG, '2026-topics-stg-archived', now - 110));
  await dg.start();
  svc = await startService([
    '--data-dir',
    dir.path,
    '--snapshot-interval',
    '3600',
    '--topic',
    'org.fedoraproject.prod.',
    '--datagrepper',
    dg.url,
  ]);
  const s = svc;
  await waitReady(s);
  const zmq = new Publisher({ linger: 2000 });
  zmq.connect(s.bound);
  // The probes' own topic is outside the subscription: sent under a subscribed one.
  await probeUntilJoined(s, (frames) => zmq.send([PROD, frames[1] as string]));
  const pub = { send: (topic: string, body: string) => zmq.send([topic, body]), close: () => zmq.close() };
  // Both first frames match the subscription; the second envelope names a staging topic.
  await pub.send(PROD, JSON.stringify(msg(PROD, '2026-topics-prod-live', now - 5)));
  await pub.send(PROD, JSON.stringify(msg(STG, '2026-topics-stg-live', now - 4)));
  await pub.send(PROD, JSON.stringify(msg(PROD, '2026-topics-prod-last', now - 3)));
  pub.close();
  await eventually(
    async () => {
      if ((await getJson(`${s.base}/id?id=2026-topics-prod-last`)).status !== 200) return undefined;
      // Applied too, not only committed: /id reads what LMDB committed, and the plugins apply a
      // batch just after, so latest-event-per-topic below could be read a batch behind.
      const text = await metricsText(s.base);
      return sampleOf(text, 'statscache_journal_applied_seq') === sampleOf(text, 'statscache_journal_last_seq')
        ? true
        : undefined;
    },
    15_000,
    'the last message journaled and applied',
  );

  const page = (await getJson(`${s.base}/raw?rows_per_page=10&order=asc`)).body as RawPage;
  expect(page.raw_messages.map((m) => m.msg_id)).toEqual([
    '2026-topics-prod-archived',
    '2026-topics-prod-live',
    '2026-topics-prod-last',
  ]);
  expect(await journaledTotal(s.base)).toBe(3);
  const categories = (await getJson(`${s.base}/api/latest-event-per-topic`)).body as { topic: string }[];
  expect(categories.map((r) => r.topic)).toEqual([PROD]);
  expect(await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="bad_topic"')).toBe(1);
  expect(await metricOf(s.base, 'statscache_intake_total', 'event="backfill_unsubscribed"')).toBe(1);
}, 90_000);

it('an AMQP consumer backfills only what its bindings route', async () => {
  await svc?.stop('SIGTERM');
  svc = null;
  const now = Math.floor(Date.now() / 1000);
  dg.messages.push(msg(PROD, '2026-bindings-prod', now - 60), msg(STG, '2026-bindings-stg', now - 50));
  broker = await sharedBroker();
  svc = await startService([
    '--data-dir',
    amqpDir.path,
    '--snapshot-interval',
    '3600',
    '--amqp',
    broker.url,
    '--amqp-binding',
    'org.fedoraproject.prod.#',
    '--amqp-binding',
    'org.fedoraproject.*.wiki.article.new',
    // startService binds a ZeroMQ socket too: subscribed to a prefix nothing here has, the bindings decide.
    '--topic',
    'org.example.unused.',
    '--datagrepper',
    dg.url,
  ]);
  const s = svc;
  await waitReady(s);
  await consumingInput(s);
  const page = (await getJson(`${s.base}/raw?rows_per_page=10&order=asc`)).body as RawPage;
  expect(page.raw_messages.map((m) => m.msg_id)).toEqual(['2026-topics-prod-archived', '2026-bindings-prod']);
  expect(await metricOf(s.base, 'statscache_intake_total', 'event="backfill_unsubscribed"')).toBe(2);
}, 120_000);
