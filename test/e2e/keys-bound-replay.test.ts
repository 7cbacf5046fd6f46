/**
 * `--max-message-keys` is checked again on replay (an entry journaled by an older version must
 * not slip past today's bounds), against the journaled envelope. Intake checked the envelope as
 * it arrived, before it got the members intake adds: the topic of the first frame when the
 * envelope names none, the receive time when it has no timestamp. So a message at the bound
 * lacking either was counted live and refused by the replay after a crash (`replay_rejected`):
 * a replica that restarted lost it, and its digests no longer matched.
 */
import { afterAll, expect, it } from 'vitest';
import { digestsOf, joinedPublisher, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const dir = tempDir();
let svc: RunningService | null = null;
afterAll(async () => {
  await svc?.stop('SIGKILL');
  dir.remove();
});

const MAX_KEYS = 1000;
const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';

/** `members` object members and array elements in all, as --max-message-keys counts them. */
function envelope(id: string, members: number, fields: Record<string, unknown>): string {
  const own = Object.keys(fields).length + 2; // msg_id, msg
  const msg = Object.fromEntries(Array.from({ length: members - own - 1 }, (_, i) => [`k${i}`, i]));
  return JSON.stringify({ ...fields, msg_id: id, msg: { user: 'someone', ...msg } });
}

it('a message at the key bound without a topic or a timestamp is counted live and after a crash alike', async () => {
  const args = ['--data-dir', dir.path, '--snapshot-interval', '3600', '--max-message-keys', String(MAX_KEYS)];
  svc = await startService(args);
  const s = svc;
  const pub = await joinedPublisher(s);
  const now = Math.floor(Date.now() / 1000);
  const sent = [
    // The envelope's topic comes from the first frame.
    envelope('2026-keys-no-topic', MAX_KEYS, { timestamp: now - 3 }),
    // The receive time fills the timestamp.
    envelope('2026-keys-no-timestamp', MAX_KEYS, { topic: TOPIC }),
    // Both.
    envelope('2026-keys-neither', MAX_KEYS, {}),
    envelope('2026-keys-complete', MAX_KEYS, { topic: TOPIC, timestamp: now - 2 }),
  ];
  // One past the bound is still refused, whatever intake would add.
  const over = envelope('2026-keys-over', MAX_KEYS + 1, { timestamp: now - 1 });
  for (const body of [...sent, over]) await pub.send(TOPIC, body);
  pub.close();
  const counted = async (base: string) =>
    ((await getJson(`${base}/api/volume-by-category-1d`)).body as { volume: number }[]).reduce(
      (a, r) => a + r.volume,
      0,
    );
  // Each either counted or refused as too_many_keys, consistently: here all four are within the bound.
  await eventually(async () => ((await counted(s.base)) === sent.length ? true : undefined), 15_000, 'all counted');
  await eventually(
    async () =>
      (await metricOf(s.base, 'statscache_bus_decode_errors_total', 'reason="too_many_keys"')) === 1 ? true : undefined,
    15_000,
    'the one over the bound refused',
  );
  expect(await counted(s.base)).toBe(sent.length);
  const live = await digestsOf(s.base);

  // No snapshot was taken: the restart replays every message from the journal.
  await s.stop('SIGKILL');
  svc = await startService(args);
  await waitReady(svc);
  expect(await metricOf(svc.base, 'statscache_intake_total', 'event="replay_rejected"')).toBe(0);
  expect(await counted(svc.base)).toBe(sent.length);
  expect(await digestsOf(svc.base)).toEqual(live);
}, 90_000);
