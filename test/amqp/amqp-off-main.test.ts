import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { connectAmqpPublisher, sentAt } from '../helpers/amqp-publisher.js';
import type { TestBroker } from '../helpers/rabbitmq.js';
import { sharedBroker } from '../helpers/shared-broker.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * Every AMQP delivery was decoded on the main thread: a 700 KB body of 49 k unsorted keys held
 * it ~130 ms (HTTP reads, pushes and snapshots waited). A large one is now prepared on the AMQP
 * prepare thread; journaled in delivery order with the small ones decoded beside it, refused
 * for the same reasons, its timestamp judged on the service's (here injected) clock.
 */
let broker: TestBroker;
beforeAll(async () => {
  broker = await sharedBroker();
}, 120_000);
afterAll(() => broker?.stop());
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NOW = 1_765_000_000;
/** Members in reverse order: the id sorts them (the costly case on the main thread). */
const reversed = (n: number) =>
  JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${n - i}`, i])));

/**
 * A service in this process, on a ManualClock at NOW, consuming one input bound to `prefix`.#
 * (its own routing keys: a shared broker's other publishers never reach its queue).
 */
async function consumingService(prefix: string, logger: Logger, flags: Partial<Config> = {}): Promise<Service> {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: dir.path,
      port: 0,
      bind: ['tcp://127.0.0.1:*'],
      amqp: [broker.url],
      amqpBinding: [`${prefix}.#`],
      ...flags,
    },
  });
  const s = await Service.build({ config, logger, clock: new ManualClock(NOW * 1000) });
  cleanups.push(() => s.stop());
  await s.start();
  await eventually(
    () => (s.amqp.reports()[0]?.state === 'consuming' ? true : undefined),
    30_000,
    'the input consuming',
  );
  return s;
}

/**
 * The msg_ids the journal takes, in order, whichever path made the record (called through:
 * `accept` on the main thread, `acceptEncoded` for what a thread prepared).
 */
function journalOrder(s: Service): string[] {
  const journaled: string[] = [];
  const accept = s.journal.accept.bind(s.journal);
  vi.spyOn(s.journal, 'accept').mockImplementation((envelope) => {
    journaled.push(String(envelope.msg_id));
    return accept(envelope);
  });
  const acceptEncoded = s.journal.acceptEncoded.bind(s.journal);
  vi.spyOn(s.journal, 'acceptEncoded').mockImplementation((id, envelope, value, meta) => {
    journaled.push(String(envelope.msg_id));
    return acceptEncoded(id, envelope, value, meta);
  });
  return journaled;
}

describe('a large AMQP delivery', () => {
  it('is decoded off the main thread, journaled in delivery order, refused and de-duplicated as before', async () => {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    const s = await consumingService(prefix, pino({ level: 'silent' }));
    // Called through: the texts the main thread parses, and the order things are journaled in.
    const parsedOnMain: number[] = [];
    const parse = JSON.parse;
    vi.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
      parsedOnMain.push(String(text).length);
      return parse(text, reviver);
    });
    const journaled = journalOrder(s);

    const pub = await connectAmqpPublisher(broker.url);
    cleanups.push(() => pub.close());
    const large = reversed(49_000);
    const timed = { headers: { 'sent-at': sentAt(NOW - 60) } };
    const topic = `${prefix}.wiki.article.edit`;
    pub.publishRaw(topic, large, { messageId: 'large-1', ...timed });
    pub.publishRaw(topic, '{"small":1}', { messageId: 'small-1', ...timed });
    // Refused: not JSON, and a day ahead of the service's clock (not the wall clock's).
    pub.publishRaw(topic, `{"x":"${'x'.repeat(8000)}`, { messageId: 'broken', ...timed });
    pub.publishRaw(topic, reversed(1000), { messageId: 'ahead', headers: { 'sent-at': sentAt(NOW + 86_400) } });
    pub.publishRaw(topic, reversed(2000), { messageId: 'large-2', ...timed });
    pub.publishRaw(topic, '{"small":2}', { messageId: 'small-2', ...timed });
    // The first again: a duplicate.
    pub.publishRaw(topic, large, { messageId: 'large-1', ...timed });
    await pub.confirmed();
    await eventually(() => (s.amqp.reports()[0]?.acked === 7 ? true : undefined), 60_000, 'seven acked');

    const report = s.amqp.reports()[0];
    expect(parsedOnMain.filter((n) => n >= 4096)).toEqual([]);
    expect(journaled).toEqual(['large-1', 'small-1', 'large-2', 'small-2', 'large-1']);
    expect(report?.duplicates).toBe(1);
    expect(report?.decodeErrors.invalid_json).toBe(1);
    expect(report?.decodeErrors.future_timestamp).toBe(1);
    expect(s.counters.decodeErrors.future_timestamp).toBe(1);
    expect(s.counters.accepted).toBe(4);
    expect(s.amqp.thread?.failed).toBeNull();
    const ready = s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' });
    expect(String((JSON.parse(ready.body as string) as { degraded?: string }).degraded)).not.toMatch(/AMQP prepare/);
  }, 120_000);
});

describe('the AMQP prepare thread gone', () => {
  for (const [how, env, flags] of [
    ['exits', 'STATSCACHE_TEST_AMQP_THREAD_EXIT_KEY', {}],
    ['hangs', 'STATSCACHE_TEST_AMQP_THREAD_SPIN_KEY', { threadHangTimeout: 1 }],
  ] as const)
    it(`${how}: what it held and every large delivery after it are decoded on the main thread, in order, counted`, async () => {
      const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
      const doomed = `${prefix}.doomed`;
      // Read by the thread when it starts (at the first large delivery).
      process.env[env] = doomed;
      cleanups.push(() => delete process.env[env]);
      const errors: string[] = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
      const s = await consumingService(prefix, logger, flags);
      const journaled = journalOrder(s);
      const pub = await connectAmqpPublisher(broker.url);
      cleanups.push(() => pub.close());
      const timed = { headers: { 'sent-at': sentAt(NOW - 60) } };
      const topic = `${prefix}.wiki.article.edit`;
      pub.publishRaw(topic, reversed(1000), { messageId: 'before', ...timed });
      pub.publishRaw(doomed, reversed(1000), { messageId: 'doomed', ...timed });
      pub.publishRaw(topic, reversed(1000), { messageId: 'held', ...timed });
      pub.publishRaw(topic, '{"small":1}', { messageId: 'small', ...timed });
      await pub.confirmed();
      await eventually(() => (s.amqp.reports()[0]?.acked === 4 ? true : undefined), 60_000, 'four acked');
      pub.publishRaw(topic, reversed(1000), { messageId: 'after', ...timed });
      await pub.confirmed();
      await eventually(() => (s.amqp.reports()[0]?.acked === 5 ? true : undefined), 60_000, 'the fifth acked');

      expect(journaled).toEqual(['before', 'doomed', 'held', 'small', 'after']);
      // Prepared on the thread: the first; on the main thread: every one from the one it died on.
      expect((s.journal.acceptEncoded as unknown as { mock: { calls: unknown[] } }).mock.calls.length).toBe(1);
      expect(s.amqp.thread?.failed).toMatch(how === 'exits' ? /exited \(code 3\)/ : /made no progress/);
      // Degraded, naming it: each large delivery holds the main thread again until a restart.
      const ready = s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' });
      expect((JSON.parse(ready.body as string) as { degraded?: string }).degraded).toMatch(
        /AMQP prepare thread .*; large AMQP deliveries are decoded on the main thread until a restart/,
      );
      expect(errors.filter((l) => l.includes('AMQP prepare thread gone')).length).toBe(1);
      const metrics = await s.metrics.refresh();
      expect(metrics).toContain('statscache_intake_total{event="amqp_thread_failures"} 1');
    }, 120_000);
});
