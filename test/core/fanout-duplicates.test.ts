import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { servicePublisher } from '../helpers/service-publisher.js';

/**
 * `fanout_truncated` counts the messages taken in whose users or packages were cut to
 * --max-fanout. With the bus thread on it was counted as each message arrived, duplicates too
 * (a publisher's retry, a second --connect to the same relay), while the main thread's own
 * decode counts it only when the message is applied: the same traffic read differently
 * depending on --bus-thread.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 'org.fedoraproject.prod.meetbot.meeting.complete';
/** A meeting naming 300 attendees: past the default --max-fanout of 256. */
const meeting = (id: string) =>
  JSON.stringify({
    topic: TOPIC,
    timestamp: Math.floor(Date.now() / 1000),
    msg_id: id,
    msg: { attendees: Object.fromEntries(Array.from({ length: 300 }, (_, u) => [`attendee${u}`, 1])) },
  });

describe.each([true, false])('fanout_truncated with --bus-thread %s', (busThread) => {
  it('counts a cut message once however many times it arrives', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const config = loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], busThread },
    });
    const s = await Service.build({ config, logger: pino({ level: 'silent' }) });
    cleanups.push(() => s.stop());
    await s.start();
    const pub = servicePublisher(s);
    cleanups.push(() => pub.close());
    await pub.join();
    for (const id of ['m-1', 'm-1', 'm-1', 'm-2']) await pub.sendFrames([TOPIC, meeting(id)]);
    await eventually(
      () => (s.counters.duplicates === 2 && s.intake.appliedSeqNumber === 2 ? true : undefined),
      10_000,
      'two taken in, two duplicates, both applied',
    );
    expect(s.counters.accepted).toBe(2);
    expect(s.counters.fanoutTruncated).toBe(2);
  });
});
