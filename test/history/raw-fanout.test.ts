/**
 * `/raw`'s user/package filters and its meta read a message's usernames as the plugins do:
 * cut to `--max-fanout`. And reading them is not taking the message in again: the
 * `fanout_truncated` intake count stays one per message however often /raw derives its meta.
 */
import { afterAll, expect, it } from 'vitest';
import { journaledTotal, joinedPublisher, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const dir = tempDir();
let svc: RunningService | null = null;
afterAll(async () => {
  await svc?.stop('SIGKILL');
  dir.remove();
});

const FANOUT = 3;
const ATTENDEES = 10;

it('/raw filters and meta use --max-fanout, and count no truncation of their own', async () => {
  const now = Math.floor(Date.now() / 1000);
  const people = Array.from({ length: ATTENDEES }, (_, i) => `person${i}`);
  const meeting = {
    topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
    timestamp: now - 10,
    msg_id: '2026-raw-fanout-meeting',
    msg: {
      meeting_topic: 'fanout',
      owner: 'chair',
      chairs: {},
      attendees: Object.fromEntries(people.map((p) => [p, 1])),
    },
  };
  svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600', '--max-fanout', String(FANOUT)]);
  const s = svc;
  await waitReady(s, 20_000);
  const pub = await joinedPublisher(s);
  await pub.send(meeting.topic, JSON.stringify(meeting));
  await eventually(
    async () => (((await journaledTotal(s.base)) ?? 0) >= 1 ? true : undefined),
    10_000,
    'the meeting journaled',
  );
  const truncated = async () => metricOf(s.base, 'statscache_intake_total', 'event="fanout_truncated"');
  expect(await truncated()).toBe(1);

  const raw = await getJson(`${s.base}/raw?delta=3600&meta=usernames`);
  expect(raw.status).toBe(200);
  const rows = (raw.body as { raw_messages: { meta?: { usernames: string[] } }[] }).raw_messages;
  expect(rows).toHaveLength(1);
  const kept = rows[0]?.meta?.usernames ?? [];
  expect(kept).toHaveLength(FANOUT);
  const cut = [...people, 'chair'].find((p) => !kept.includes(p)) as string;
  // A name cut at intake matches no /raw filter, as it reaches no plugin; a kept one does.
  const byUser = async (user: string) =>
    ((await getJson(`${s.base}/raw?delta=3600&user=${user}`)).body as { total: number }).total;
  expect(await byUser(kept[0] as string)).toBe(1);
  expect(await byUser(cut)).toBe(0);
  expect(await truncated()).toBe(1);
}, 60_000);
