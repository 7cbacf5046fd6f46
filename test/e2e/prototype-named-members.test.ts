import { describe, expect, it } from 'vitest';
import { digestsOf, metricOf, volumeByUser } from '../helpers/probes.js';
import { restartedService } from '../helpers/restarted-service.js';
import type { RunningService } from '../helpers/service-process.js';

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
  const { pub, start, publish: publishAs } = restartedService('2026-proto', ['--bus-thread', busThread]);
  const publish = (s: RunningService, bodies: unknown[], topic = TOPIC) => publishAs(s, bodies, topic);

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
