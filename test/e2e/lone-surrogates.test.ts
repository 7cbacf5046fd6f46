import { describe, expect, it } from 'vitest';
import { digestsOf, volumeByUser } from '../helpers/probes.js';
import { restartedService } from '../helpers/restarted-service.js';
import { getJson, type RunningService } from '../helpers/service-process.js';

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';
const long = 'x'.repeat(70);

/**
 * Strings in JSON may hold an unpaired UTF-16 surrogate ("\ud800"); UTF-8 has no form for one.
 * Stored as they came (journal, snapshot keys and values), they came back as U+FFFD after a
 * restart, or two keys differing only there became one on disk and the snapshot was refused
 * as torn. The service replaces them at intake, so what it serves, snapshots and replays agree.
 */
describe('unpaired surrogates (and __proto__ members) on the bus: replaced at intake, the same state after restarts', () => {
  const { pub, start, publish: publishAs } = restartedService('2026-lone');

  const topics = async (base: string) => {
    const res = await getJson(`${base}/api/volume-by-topic-1m?rows_per_page=100`);
    return (res.body as { topic: string }[]).map((r) => r.topic).sort();
  };
  // JSON.stringify writes an unpaired surrogate as a \u escape, as Python's json.dumps does.
  // The bus topic stays TOPIC: only the envelope's topic carries one.
  const publish = (s: RunningService, bodies: Record<string, unknown>[], topic = TOPIC) =>
    publishAs(s, bodies, topic, TOPIC);

  it('serves U+FFFD in their place, and the same digests and views after SIGTERM and after SIGKILL', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    let s = await start();
    await publish(s, [
      { user: 'lone\ud800' },
      { user: '\udc00lead' },
      { user: `${long}\ud800` },
      // Differs from the one above only in the unpaired half: the same user once replaced.
      { user: `${long}\udc00` },
      { user: 'paired😀' },
      { '\ud800name': 1, user: 'plain' },
    ]);
    await publish(s, [{ user: 'plain' }], `${TOPIC}.\udbff`);

    const served = await volumeByUser(s.base);
    expect(served).toEqual({
      'lone\ufffd': 1,
      '\ufffdlead': 1,
      [`${long}\ufffd`]: 2,
      'paired😀': 1,
      plain: 2,
    });
    expect(await topics(s.base)).toEqual([TOPIC, `${TOPIC}.\ufffd`]);
    for (const text of [...Object.keys(served), ...(await topics(s.base))]) expect(text.isWellFormed()).toBe(true);
    const digests = await digestsOf(s.base);

    // A clean stop snapshots; the start reads the snapshot back through the start-up check's stream.
    expect(await s.stop('SIGTERM')).toBe(0);
    s = await start();
    expect(await volumeByUser(s.base)).toEqual(served);
    expect(await digestsOf(s.base)).toEqual(digests);

    // Killed before any snapshot of these: they come back from the journal's replay.
    await publish(s, [{ user: 'again\udfff' }, { user: 'lone\ud800' }]);
    // A meetbot attendee named __proto__ (an IRC nick): msgpack reads that member name back as
    // __proto_, so intake names it so, and live and replayed counts agree.
    await publish(
      s,
      [{ attendees: JSON.parse('{"__proto__":1}') as unknown }],
      'org.fedoraproject.prod.meetbot.meeting.complete',
    );
    const more = await volumeByUser(s.base);
    expect(more['again\ufffd']).toBe(1);
    expect(more['lone\ufffd']).toBe(2);
    expect(more['__proto_']).toBe(1);
    expect(Object.hasOwn(more, '__proto__')).toBe(false);
    const digestsBeforeKill = await digestsOf(s.base);
    await s.stop('SIGKILL');
    s = await start();
    expect(await volumeByUser(s.base)).toEqual(more);
    expect(await digestsOf(s.base)).toEqual(digestsBeforeKill);
  });
});
