import { afterAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { digestsOf, metricOf, resendUntilApplied, volumeByUser } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const MEETING = 'org.fedoraproject.prod.meetbot.meeting.complete';

/**
 * A JSON object may have members named `constructor` and `toJSON` (a wiki page's fields, a
 * meeting's attendees named so). msgpackr took an object whose own `constructor` is not Object
 * for a class instance and called its `toJSON`, a string: the journal record's encode threw,
 * and the message was lost as a receive error, on the bus thread and on the main thread alike.
 */
describe.each([
  ['on', 'true'],
  ['off', 'false'],
])('constructor and toJSON members, bus thread %s: kept through restarts', (_, busThread) => {
  const dir = tempDir();
  let svc: RunningService | null = null;
  const pub = new Publisher({ linger: 0 });

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    pub.close();
    dir.remove();
  });

  const start = async () => {
    svc = await startService([
      '--connect',
      pub.lastEndpoint as string,
      '--data-dir',
      dir.path,
      '--bus-thread',
      busThread,
    ]);
    const s = svc;
    await eventually(async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined));
    return s;
  };
  let sent = 0;
  const publish = async (s: RunningService, bodies: unknown[], topic = TOPIC) => {
    const base = Date.now() / 1000 - 30;
    const frames = bodies.map((msg) => {
      const n = ++sent;
      return [topic, JSON.stringify({ topic, timestamp: base + n / 1000, msg_id: `2026-proto-${n}`, msg })];
    });
    const until = sent;
    await resendUntilApplied(s.base, (f) => pub.send(f), frames, until);
  };

  it('counts every message, and a SIGTERM (snapshot) and a SIGKILL (journal replay) keep them', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    let s = await start();
    await publish(s, [
      { user: 'plain' },
      { user: 'paged', page: { constructor: 'Main', toJSON: 'yes' } },
      { user: 'nested', a: [{ b: { toJSON: { constructor: 1 }, constructor: 'x' } }] },
    ]);
    // Attendees become users: state keys named so, beside the values above.
    await publish(s, [{ attendees: { constructor: 1, toJSON: 2 } }], MEETING);
    const served = await volumeByUser(s.base);
    expect(served).toEqual({ plain: 1, paged: 1, nested: 1, constructor: 1, toJSON: 1 });
    expect(await metricOf(s.base, 'statscache_bus_accepted_total')).toBe(4);
    expect(await metricOf(s.base, 'statscache_intake_total', 'event="receive_errors"')).toBe(0);
    const digests = await digestsOf(s.base);

    expect(await s.stop('SIGTERM')).toBe(0);
    s = await start();
    expect(await volumeByUser(s.base)).toEqual(served);
    expect(await digestsOf(s.base)).toEqual(digests);

    await publish(s, [{ user: 'paged', page: { toJSON: 'again', constructor: 'Main' } }]);
    const more = await volumeByUser(s.base);
    expect(more['paged']).toBe(2);
    const before = await digestsOf(s.base);
    await s.stop('SIGKILL');
    s = await start();
    expect(await volumeByUser(s.base)).toEqual(more);
    expect(await digestsOf(s.base)).toEqual(before);
  });
});
