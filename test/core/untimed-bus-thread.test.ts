import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { Publisher } from 'zeromq';
import { decodeFreshRecord, encodeJournalRecord, messageId } from '../../snapshots/journal-record.js';
import { type Clock, ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir, waitForSubscription } from '../helpers/service-process.js';

/**
 * A bus message without a timestamp takes the service's clock reading as its timestamp. With
 * the bus thread on, the main thread decoded such a message itself (and made its id), so a
 * publisher sending large untimestamped bodies held the main thread ~200 ms a message. On the
 * system clock the bus thread now reads the same clock and prepares it like any other; the
 * journal gets what the main thread would have made at that reading. On an injected clock,
 * which no other thread can read, the main thread still fills it in.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
/** Members in reverse order: the id sorts them (the costly case on the main thread). */
const body = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${n - i}`, i]));

async function started(clock?: Clock) {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const config = loadConfig({
    env: {},
    flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], busThread: true },
  });
  const s = await Service.build({ config, logger: pino({ level: 'silent' }), ...(clock ? { clock } : {}) });
  cleanups.push(() => s.stop());
  await s.start();
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  pub.connect(s.subscription?.bound[0] as string);
  cleanups.push(() => pub.close());
  const send = (frames: string[]) => pub.send(frames);
  await waitForSubscription(send, () => s.counters.frames);
  // Spied on, called through: what the main thread decodes itself, and what it journals.
  const decodedOnMain = vi.spyOn(s.intake, 'fromBus');
  const journaled: { id: string; record: Uint8Array }[] = [];
  const acceptEncoded = s.journal.acceptEncoded.bind(s.journal);
  vi.spyOn(s.journal, 'acceptEncoded').mockImplementation((id, envelope, value, meta) => {
    journaled.push({ id, record: value });
    return acceptEncoded(id, envelope, value, meta);
  });
  const accept = s.journal.accept.bind(s.journal);
  vi.spyOn(s.journal, 'accept').mockImplementation((envelope) => {
    const entry = accept(envelope);
    const id = messageId(envelope);
    journaled.push({ id, record: encodeJournalRecord(id, envelope) });
    return entry;
  });
  return { s, config, send, decodedOnMain, journaled };
}

const untimed = [
  { topic: TOPIC, msg_id: '2026-untimed-1', msg: body(3000) },
  { topic: TOPIC, msg_id: '2026-untimed-2', timestamp: null, msg: body(10) },
  // No msg_id: the id digests the timestamp.
  { topic: TOPIC, msg: body(2000) },
];

describe('a bus message without a timestamp, with the bus thread on', () => {
  it('on the system clock is stamped and prepared on the bus thread: the main thread decodes none of them', async () => {
    const { s, config, send, decodedOnMain, journaled } = await started();
    const before = Date.now() / 1000;
    for (const e of untimed) await send([TOPIC, JSON.stringify(e)]);
    // The first again: a duplicate by its msg_id, whatever its reading.
    await send([TOPIC, JSON.stringify(untimed[0])]);
    await eventually(
      () => (s.counters.accepted + s.counters.duplicates === 4 ? true : undefined),
      20_000,
      'four taken in',
    );
    const after = Date.now() / 1000;
    expect(decodedOnMain).not.toHaveBeenCalled();
    expect({ accepted: s.counters.accepted, duplicates: s.counters.duplicates }).toEqual({
      accepted: 3,
      duplicates: 1,
    });
    expect(s.counters.filledTimestamps).toBe(4);
    expect(journaled).toHaveLength(4);
    for (const [i, { id, record }] of journaled.entries()) {
      const sent = untimed[i % 3] as (typeof untimed)[number];
      const { envelope } = decodeFreshRecord(record);
      // The clock's reading, in seconds with its milliseconds, between the test's own.
      expect(envelope.timestamp).toBeGreaterThanOrEqual(before);
      expect(envelope.timestamp).toBeLessThanOrEqual(after);
      // What the main thread would have journaled at that reading, byte for byte.
      const main = decodeFrames(
        [Buffer.from(TOPIC), Buffer.from(JSON.stringify(sent))],
        frameLimits(config, () => envelope.timestamp),
      );
      if (!main.ok) throw new Error(main.reason);
      expect(id).toBe(messageId(main.envelope));
      expect(Buffer.from(record).equals(Buffer.from(encodeJournalRecord(id, main.envelope)))).toBe(true);
    }
  }, 40_000);

  it('on an injected clock is decoded on the main thread, and takes that clock’s reading', async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000 + 123);
    const { s, send, decodedOnMain, journaled } = await started(clock);
    for (const e of untimed) await send([TOPIC, JSON.stringify(e)]);
    await eventually(() => (s.counters.accepted === 3 ? true : undefined), 20_000, 'three accepted');
    expect(decodedOnMain).toHaveBeenCalledTimes(3);
    expect(s.counters.filledTimestamps).toBe(3);
    expect(journaled.map((j) => decodeFreshRecord(j.record).envelope.timestamp)).toEqual(
      Array(3).fill(clock.now() / 1000),
    );
  }, 40_000);
});
