/**
 * Where --amqp-thread's size threshold lies: the main thread's CPU per delivery, decoding it
 * there (decodeDelivery, then the id and journal record Journal.accept makes) against handing
 * it to the AMQP prepare thread and unpacking its answer (the copy, two messages, the head), by
 * body size: bodies of `keys` members in reverse order (the worst case per byte: the id sorts
 * them), and the fixture samples' bodies (fedmsg's real shapes) grouped by size. In-process, one
 * delivery at a time, so the thread's answer is waited for as the service waits for it. The main
 * thread's busy time is its event loop's active time (performance.eventLoopUtilization): waiting
 * for the thread's answer is idle time, the hand-over and the answer's handling are not.
 *
 *   node dist/bench/amqp-thread-threshold.js [deliveries per size] [rounds]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { encodeJournalRecord, messageId } from '../snapshots/journal-record.js';
import { decodeDelivery, type Delivery } from '../src/amqp-message.js';
import { AmqpPrepareThread } from '../src/amqp-prepare-thread.js';
import { threadLimits, unclocked } from '../src/bus-prepare.js';
import { systemClock } from '../src/clock.js';
import { configSchema } from '../src/config.js';

const N = Number(process.argv[2] ?? 400);
const ROUNDS = Number(process.argv[3] ?? 3);
const KEYS = [10, 100, 300, 1000, 3000];
const limits = threadLimits(configSchema().parse({}));
const clocked = unclocked(limits);
/** The main thread's active time so far, ms. */
const activeMs = () => performance.eventLoopUtilization().active;
const thread = new AmqpPrepareThread({
  limits,
  fillTimestamps: true,
  minBytes: 0,
  maxInFlightBytes: Number.POSITIVE_INFINITY,
  hangTimeoutMs: 0,
  startTimeoutMs: 0,
  // A failure is the measurement's (the test's) end: no fresh thread.
  restarts: 0,
  clock: systemClock,
  onRestarted: () => undefined,
  onFailed: (reason) => {
    throw new Error(reason);
  },
});
const deliveryOf = (body: string, i: number): Delivery => ({
  routingKey: 'org.fedoraproject.prod.wiki.article.edit',
  content: Buffer.from(body),
  messageId: `m-${i}`,
  headers: { 'sent-at': '2026-12-05T10:00:00+00:00', fedora_messaging_schema: 'base.message', priority: 0 },
  redelivered: false,
});

let sink = 0;
const reversed = (keys: number) =>
  JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, k) => [`k${keys - k}`, k])));
/** The fixture samples' bodies, by size: under 1 KB, 1-4 KB, 4 KB and more. */
const fixtures = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.stringify((JSON.parse(line) as { msg: unknown }).msg));
const SETS: Record<string, readonly string[]> = {
  ...Object.fromEntries(KEYS.map((k) => [`reversed-${k}`, [reversed(k)]])),
  'fixtures<1k': fixtures.filter((b) => b.length < 1024),
  'fixtures1-4k': fixtures.filter((b) => b.length >= 1024 && b.length < 4096),
  'fixtures>=4k': fixtures.filter((b) => b.length >= 4096),
};

async function measure(bodies: readonly string[]): Promise<{ bytes: number; here_us: number; thread_us: number }> {
  const deliveries = Array.from({ length: N }, (_, i) => deliveryOf(bodies[i % bodies.length] as string, i));
  let t = activeMs();
  for (const d of deliveries) {
    const r = decodeDelivery(d, clocked);
    if (r.ok) sink += encodeJournalRecord(messageId(r.envelope), r.envelope).byteLength;
  }
  const here = activeMs() - t;
  t = activeMs();
  for (const d of deliveries) {
    const r = await thread.prepare(d);
    if (r?.kind === 'ready') sink += r.record.byteLength + r.id.length;
  }
  const there = activeMs() - t;
  return {
    bytes: Math.round(deliveries.reduce((sum, d) => sum + d.content.byteLength, 0) / N),
    here_us: Math.round((here / N) * 10_000) / 10,
    thread_us: Math.round((there / N) * 10_000) / 10,
  };
}

const names = Object.keys(SETS);
for (let round = 0; round < ROUNDS; round++)
  for (const name of round % 2 === 0 ? names : [...names].reverse())
    console.log(JSON.stringify({ round, bodies: name, ...(await measure(SETS[name] as readonly string[])) }));
await thread.close();
console.log(JSON.stringify({ sink: sink > 0 }));
