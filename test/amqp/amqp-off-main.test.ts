import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import type { Service } from '../../src/service.js';
import { connectAmqpPublisher, sentAt } from '../helpers/amqp-publisher.js';
import { consumingSuite, journalOrder } from '../helpers/consuming-service.js';
import { eventually } from '../helpers/service-process.js';

/**
 * Every AMQP delivery was decoded on the main thread: a 700 KB body of 49 k unsorted keys held
 * it ~130 ms (HTTP reads, pushes and snapshots waited). A large one is now prepared on the AMQP
 * prepare thread; journaled in delivery order with the small ones decoded beside it, refused
 * for the same reasons, its timestamp judged on the service's (here injected) clock.
 */
const suite = consumingSuite();
const { cleanups } = suite;

const NOW = 1_765_000_000;
/** Members in reverse order: the id sorts them (the costly case on the main thread). */
const reversed = (n: number) =>
  JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${n - i}`, i])));

/**
 * A service in this process, on a ManualClock at NOW, consuming one input bound to `prefix`.#.
 * No ZeroMQ bus thread: messages come over AMQP only, so each of the 6 starts would pay for a
 * thread loading zeromq only to read an idle socket (still bound).
 */
const consumingService = (
  prefix: string,
  logger: Logger,
  flags: Partial<Config> = {},
  clock = new ManualClock(NOW * 1000),
): Promise<Service> => suite.consumingService(prefix, logger, { busThread: false, ...flags }, clock);

/** The degraded reason `path` (/readyz, /healthz) gives, or undefined. */
function degraded(s: Service, path: '/readyz' | '/healthz'): string | undefined {
  const answer = s.http({ method: 'GET', path, query: '', header: () => '' });
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body as string) as { degraded?: string }).degraded;
}

/** The lengths of the texts JSON.parse is given on this (the main) thread, from now on. */
function parsedOnMain(): number[] {
  const lengths: number[] = [];
  const parse = JSON.parse;
  const spy = vi.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
    lengths.push(String(text).length);
    return parse(text, reviver);
  });
  cleanups.push(() => spy.mockRestore());
  return lengths;
}

/** Deliveries journaled from what a thread prepared so far. */
const preparedOffMain = (s: Service): number =>
  (s.journal.acceptEncoded as unknown as { mock: { calls: unknown[] } }).mock.calls.length;

describe('a large AMQP delivery', () => {
  it('is decoded off the main thread, journaled in delivery order, refused and de-duplicated as before', async () => {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    const s = await consumingService(prefix, pino({ level: 'silent' }));
    // Called through: the texts the main thread parses, and the order things are journaled in.
    const parsed = parsedOnMain();
    const journaled = journalOrder(s);

    const pub = await connectAmqpPublisher(suite.url());
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
    expect(parsed.filter((n) => n >= 4096)).toEqual([]);
    expect(journaled).toEqual(['large-1', 'small-1', 'large-2', 'small-2', 'large-1']);
    expect(report?.duplicates).toBe(1);
    expect(report?.decodeErrors.invalid_json).toBe(1);
    expect(report?.decodeErrors.future_timestamp).toBe(1);
    expect(s.counters.decodeErrors.future_timestamp).toBe(1);
    expect(s.counters.accepted).toBe(4);
    expect(s.amqp.thread?.failed).toBeNull();
    expect(String(degraded(s, '/readyz'))).not.toMatch(/AMQP prepare/);
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
      const pub = await connectAmqpPublisher(suite.url());
      cleanups.push(() => pub.close());
      const timed = { headers: { 'sent-at': sentAt(NOW - 60) } };
      const topic = `${prefix}.wiki.article.edit`;
      // `before` on its own: the thread answers the deliveries of one turn together, so one it
      // dies on sends those handed over with it back to the main thread too.
      pub.publishRaw(topic, reversed(1000), { messageId: 'before', ...timed });
      await pub.confirmed();
      await eventually(() => (s.amqp.reports()[0]?.acked === 1 ? true : undefined), 60_000, 'the first acked');
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
      expect(preparedOffMain(s)).toBe(1);
      expect(s.amqp.thread?.failed).toMatch(how === 'exits' ? /exited \(code 3\)/ : /made no progress/);
      // Degraded, naming it: each large delivery holds the main thread again until a fresh thread is up.
      expect(degraded(s, '/readyz')).toMatch(
        /AMQP prepare thread .*; large AMQP deliveries are decoded on the main thread until a fresh thread is up \(restart 1 of 5 in a row/,
      );
      expect(errors.filter((l) => l.includes('AMQP prepare thread gone')).length).toBe(1);
      const metrics = await s.metrics.refresh();
      expect(metrics).toContain('statscache_intake_total{event="amqp_thread_failures"} 1');
    }, 120_000);
});

describe('a fresh AMQP prepare thread', () => {
  const EXIT_KEY = 'STATSCACHE_TEST_AMQP_THREAD_EXIT_KEY';
  const SPIN_KEY = 'STATSCACHE_TEST_AMQP_THREAD_SPIN_KEY';
  const timed = { headers: { 'sent-at': sentAt(NOW - 60) } };

  /**
   * A service whose prepare thread exits on `<prefix>.doomed` (or hangs there, with `key`
   * SPIN_KEY; read by every thread as it starts), on `clock`.
   */
  async function doomedService(flags: Partial<Config> = {}, key = EXIT_KEY) {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    process.env[key] = `${prefix}.doomed`;
    cleanups.push(() => delete process.env[key]);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const clock = new ManualClock(NOW * 1000);
    const s = await consumingService(prefix, logger, flags, clock);
    const pub = await connectAmqpPublisher(suite.url());
    cleanups.push(() => pub.close());
    const publish = async (...messages: [key: 'doomed' | 'wiki.article.edit', body: string, id: string][]) => {
      const before = s.amqp.reports()[0]?.acked ?? 0;
      for (const [key, body, id] of messages) pub.publishRaw(`${prefix}.${key}`, body, { messageId: id, ...timed });
      await pub.confirmed();
      const acked = before + messages.length;
      await eventually(() => (s.amqp.reports()[0]?.acked === acked ? true : undefined), 60_000, `${acked} acked`);
    };
    return { s, clock, lines, publish, journaled: journalOrder(s) };
  }

  for (const [how, key, flags, failure] of [
    ['exits', EXIT_KEY, {}, /exited \(code 3\)/],
    ['hangs', SPIN_KEY, { threadHangTimeout: 1 }, /made no progress/],
  ] as const)
    it(`is started after one ${how}, and once up takes large deliveries off the main thread again: in order, none lost or twice, health ok`, async () => {
      const { s, clock, lines, publish, journaled } = await doomedService(flags, key);
      // `before` on its own, answered before the thread dies (answers go back a turn's worth at a time).
      await publish(['wiki.article.edit', reversed(1000), 'before']);
      await publish(
        ['doomed', reversed(1000), 'doomed'],
        ['wiki.article.edit', reversed(1000), 'held'],
        ['wiki.article.edit', '{"small":1}', 'small-1'],
      );
      expect(s.amqp.thread?.failed).toMatch(failure);
      // The back-off's first wait, on the service's clock: a fresh thread, deliveries once it is up.
      clock.advance(1000);
      await eventually(() => (s.amqp.thread?.failed === null ? true : undefined), 30_000, 'a fresh thread up');
      expect(String(degraded(s, '/readyz'))).not.toMatch(/AMQP prepare/);
      expect(String(degraded(s, '/healthz'))).not.toMatch(/AMQP prepare/);

      const parsed = parsedOnMain();
      await publish(
        ['wiki.article.edit', reversed(1000), 'after-1'],
        ['wiki.article.edit', '{"small":2}', 'small-2'],
        ['wiki.article.edit', reversed(2000), 'after-2'],
      );
      expect(parsed.filter((n) => n >= 4096)).toEqual([]);
      expect(journaled).toEqual(['before', 'doomed', 'held', 'small-1', 'after-1', 'small-2', 'after-2']);
      // The first thread: `before`; the fresh one: both large deliveries after it was up.
      expect(preparedOffMain(s)).toBe(3);
      expect(s.counters.accepted).toBe(7);
      expect(s.counters.duplicates).toBe(0);
      expect(s.amqp.thread?.restarted).toBe(1);
      expect(await s.metrics.refresh()).toContain('statscache_intake_total{event="amqp_thread_failures"} 1');
      expect(lines.filter((l) => l.includes('AMQP prepare thread up again')).length).toBe(1);
    }, 120_000);

  it('is not started again past --amqp-thread-restarts in a row: the main thread until the service restarts, degraded, saying so', async () => {
    const { s, clock, lines, publish, journaled } = await doomedService({ amqpThreadRestarts: 1 });
    await publish(['doomed', reversed(1000), 'doomed-1']);
    expect(degraded(s, '/readyz')).toMatch(/until a fresh thread is up \(restart 1 of 1 in a row/);
    clock.advance(1000);
    await eventually(() => (s.amqp.thread?.failed === null ? true : undefined), 30_000, 'a fresh thread up');
    await publish(['doomed', reversed(1000), 'doomed-2']);

    const gaveUp =
      /exited \(code 3\); large AMQP deliveries are decoded on the main thread until the service restarts \(1 fresh thread in a row failed too; --amqp-thread-restarts 1\)/;
    expect(degraded(s, '/readyz')).toMatch(gaveUp);
    expect(degraded(s, '/healthz')).toMatch(gaveUp);
    // Past the longest back-off: still no fresh thread.
    clock.advance(120_000);
    expect(s.amqp.thread?.restarted).toBe(1);
    const parsed = parsedOnMain();
    await publish(['wiki.article.edit', reversed(1000), 'after']);
    expect(parsed.filter((n) => n >= 4096).length).toBe(1);
    expect(preparedOffMain(s)).toBe(0);
    expect(journaled).toEqual(['doomed-1', 'doomed-2', 'after']);
    expect(degraded(s, '/readyz')).toMatch(gaveUp);
    expect(await s.metrics.refresh()).toContain('statscache_intake_total{event="amqp_thread_failures"} 2');
    const gone = lines.filter((l) => l.includes('AMQP prepare thread gone'));
    expect(gone.length).toBe(2);
    expect(gone[1]).toContain('for the rest of the run (--amqp-thread-restarts 1)');
  }, 120_000);
});
