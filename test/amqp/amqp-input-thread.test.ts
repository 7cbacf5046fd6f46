import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import type { Service } from '../../src/service.js';
import { connectAmqpPublisher, sentAt } from '../helpers/amqp-publisher.js';
import { consumingSuite, journalOrder } from '../helpers/consuming-service.js';
import { eventually } from '../helpers/service-process.js';

/**
 * The AMQP input thread (--amqp-input-thread): every input's connection lives on a thread of
 * its own, which decodes, bounds, ids and encodes each delivery; the main thread only journals
 * what it is handed, and a delivery is acked (on the thread) only once committed and applied.
 * The service runs on the system clock here: the thread is used only then.
 */
const suite = consumingSuite();
const { cleanups } = suite;

const now = () => Math.floor(Date.now() / 1000);
const EXIT_KEY = 'STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_KEY';
const EXIT_AT = 'STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_AT';

/** A service in this process, on the system clock, consuming one input bound to `prefix`.#. */
const consumingService = (
  prefix: string,
  logger: Logger,
  flags: Partial<Config> = {},
  onFatal?: (err: Error) => void,
): Promise<Service> => suite.consumingService(prefix, logger, flags, undefined, onFatal);

/** The texts JSON.parse is given on the main thread from now on. */
function parsedOnMain(): string[] {
  const texts: string[] = [];
  const parse = JSON.parse;
  const spy = vi.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
    texts.push(String(text));
    return parse(text, reviver);
  });
  cleanups.push(() => spy.mockRestore());
  return texts;
}

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });
const body = (answer: { body?: unknown }) => JSON.parse(answer.body as string) as Record<string, unknown>;

function degraded(s: Service): string | undefined {
  return body(get(s, '/readyz'))['degraded'] as string | undefined;
}

describe('the AMQP input thread', () => {
  it('prepares every delivery off the main thread: journaled in order, refused and de-duplicated as before', async () => {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    const s = await consumingService(prefix, pino({ level: 'silent' }));
    expect(s.amqp.inputThread).not.toBeNull();
    expect(s.amqp.thread).toBeNull();
    const parsed = parsedOnMain();
    const journaled = journalOrder(s, 'main:');
    const pub = await connectAmqpPublisher(suite.url());
    cleanups.push(() => pub.close());
    const timed = { headers: { 'sent-at': sentAt(now() - 60) } };
    const topic = `${prefix}.wiki.article.edit`;
    const body = (n: number) => JSON.stringify({ marker: `body-${prefix}`, n });
    pub.publishRaw(topic, body(1), { messageId: 'one', ...timed });
    pub.publishRaw(topic, `{"broken":"${prefix}`, { messageId: 'broken', ...timed });
    // A day ahead of the service's clock: refused on the main thread, which owns the clock.
    pub.publishRaw(topic, body(2), { messageId: 'ahead', headers: { 'sent-at': sentAt(now() + 86_400) } });
    pub.publishRaw(topic, body(3), { messageId: 'two', ...timed });
    pub.publishRaw(topic, body(1), { messageId: 'one', ...timed });
    await pub.confirmed();
    await eventually(() => (s.amqp.reports()[0]?.acked === 5 ? true : undefined), 60_000, 'five acked');

    expect(journaled).toEqual(['one', 'two', 'one']);
    expect(parsed.filter((t) => t.includes(`body-${prefix}`))).toEqual([]);
    const report = s.amqp.reports()[0];
    expect(report?.deliveries).toBe(5);
    expect(report?.duplicates).toBe(1);
    expect(report?.decodeErrors.invalid_json).toBe(1);
    expect(report?.decodeErrors.future_timestamp).toBe(1);
    expect(s.counters.accepted).toBe(2);
    expect(degraded(s)).toBeUndefined();
  }, 120_000);

  it('is not used with --amqp-input-thread false: the connections live on the main thread', async () => {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    const s = await consumingService(prefix, pino({ level: 'silent' }), { amqpInputThread: false });
    expect(s.amqp.inputThread).toBeNull();
    const journaled = journalOrder(s, 'main:');
    const pub = await connectAmqpPublisher(suite.url());
    cleanups.push(() => pub.close());
    pub.publishRaw(`${prefix}.x`, '{"a":1}', { messageId: 'here', headers: { 'sent-at': sentAt(now() - 60) } });
    await pub.confirmed();
    await eventually(() => (s.amqp.reports()[0]?.acked === 1 ? true : undefined), 60_000, 'one acked');
    expect(journaled).toEqual(['main:here']);
  }, 120_000);
});

describe('an AMQP input thread that dies mid-batch', () => {
  for (const [when, at] of [
    ['before the main thread journaled its batch', 'post'],
    ['after the main thread committed and applied its batch, before the ack', 'settle'],
  ] as const)
    it(`${when}: acks nothing it held, the broker delivers it again to a fresh thread, each journaled once, none lost`, async () => {
      const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
      const queue = `statscache-test-${randomUUID()}`;
      cleanups.push(async () => {
        const conn = await amqplib.connect(suite.url());
        await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
        await conn.close();
      });
      // Read by the thread as it starts: it exits right after posting the batch holding this key's
      // first delivery, or once the main thread settled that delivery (before its ack goes out).
      process.env[EXIT_KEY] = `${prefix}.doomed`;
      process.env[EXIT_AT] = at;
      cleanups.push(() => {
        delete process.env[EXIT_KEY];
        delete process.env[EXIT_AT];
      });
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const s = await consumingService(prefix, logger, { amqpQueue: queue });
      const journaled = journalOrder(s, 'main:');
      const pub = await connectAmqpPublisher(suite.url());
      cleanups.push(() => pub.close());
      const timed = { headers: { 'sent-at': sentAt(now() - 60) } };
      const ids = ['a', 'b', 'doomed', 'c', 'd'];
      for (const id of ids)
        pub.publishRaw(`${prefix}.${id === 'doomed' ? 'doomed' : 'thing'}`, JSON.stringify({ id }), {
          messageId: id,
          ...timed,
        });
      await pub.confirmed();
      await eventually(() => (s.amqp.inputThread?.failures === 1 ? true : undefined), 60_000, 'the thread gone');
      expect(s.amqp.reports()[0]?.state).toBe('closed');
      expect(s.amqp.reports()[0]?.reason).toMatch(/AMQP input thread exited \(code 3\); a fresh thread connects in/);
      expect(degraded(s)).toMatch(/AMQP/);
      // A restart left to it: the thread comes back by itself, so the process is not failing.
      expect(get(s, '/healthz').status).toBe(200);
      // The doomed delivery reached the main thread and was journaled, but never acked by the thread that died.
      await eventually(() => (journaled.includes('doomed') ? true : undefined), 30_000, 'the doomed one journaled');
      const beforeDeath = s.amqp.reports()[0]?.acked ?? 0;
      expect(beforeDeath).toBeLessThan(ids.length);

      // A fresh thread (after 1 s) reconnects: what was not acked comes again, flagged redelivered, and is de-duplicated.
      await eventually(
        () => (s.amqp.reports()[0]?.state === 'consuming' ? true : undefined),
        60_000,
        'consuming again',
      );
      const redelivered = ids.length - beforeDeath;
      await eventually(
        () => (s.amqp.reports()[0]?.acked === ids.length ? true : undefined),
        60_000,
        `the ${redelivered} redelivered acked`,
      );
      expect(new Set(journaled)).toEqual(new Set(ids));
      expect(s.counters.accepted).toBe(ids.length);
      expect(journaled.length).toBe(ids.length + s.counters.duplicates);
      expect(journaled.filter((id) => id === 'doomed').length).toBe(2);
      expect(degraded(s)).toBeUndefined();
      expect(lines.filter((l) => l.includes('AMQP input thread gone')).length).toBe(1);
      expect(await s.metrics.refresh()).toContain('statscache_intake_total{event="amqp_thread_failures"} 1');
    }, 150_000);
});

describe('an AMQP input thread past --amqp-thread-restarts', () => {
  it('stops intake as a dead bus thread does: /healthz and /readyz 503 naming the thread, its failures and the bound, the owner told', async () => {
    const prefix = `statscache.test.${randomUUID().slice(0, 8)}`;
    process.env[EXIT_KEY] = `${prefix}.doomed`;
    cleanups.push(() => delete process.env[EXIT_KEY]);
    const fatal: Error[] = [];
    const s = await consumingService(prefix, pino({ level: 'silent' }), { amqpThreadRestarts: 0 }, (err) =>
      fatal.push(err),
    );
    const pub = await connectAmqpPublisher(suite.url());
    cleanups.push(() => pub.close());
    pub.publishRaw(`${prefix}.doomed`, '{"a":1}', { messageId: 'doomed', headers: { 'sent-at': sentAt(now() - 60) } });
    await pub.confirmed();
    await eventually(() => (s.amqp.inputThread?.failures === 1 ? true : undefined), 60_000, 'the thread gone');
    const gone =
      /^the AMQP input thread exited \(code 3\); not started again \(1 failure this run; 0 fresh threads in a row failed too; --amqp-thread-restarts 0\)/;
    // Told in the same turn as the thread's end is handled, once: the CLI stops and exits 1 on it.
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.message).toMatch(gone);
    const health = get(s, '/healthz');
    expect(health.status).toBe(503);
    expect(body(health)).toMatchObject({ status: 'failing', reason: expect.stringMatching(gone) });
    const ready = get(s, '/readyz');
    expect(ready.status).toBe(503);
    expect(body(ready)['reason']).toMatch(
      /^intake stopped: the AMQP input thread exited \(code 3\); not started again/,
    );
    expect(await s.metrics.refresh()).toMatch(/^statscache_healthy 0$/m);
    expect(s.amqp.reports()[0]?.state).toBe('closed');
    expect(s.amqp.reports()[0]?.reason).toMatch(gone);
    // What reached the main thread before it died is journaled all the same (a server-named queue's only copy).
    await eventually(() => (s.counters.accepted === 1 ? true : undefined), 30_000, 'the doomed one journaled');
  }, 120_000);
});
