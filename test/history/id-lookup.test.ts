/**
 * `GET /id?id=<msg_id>` finds a message by the id its publisher gave it. The journal indexes
 * `<msg_id>#<16 hex digits of the topic and payload>` (real buses reuse a msg_id for different
 * messages), and a plain msg_id was looked up as the first index key starting `<msg_id>#`: the
 * first in key order, not in the journal's. So one message whose own msg_id was `<msg_id>#0`
 * (a publisher's choice; `#` sorts before every hex digit) answered for the real one, whenever
 * it came, and of two messages reusing a msg_id the one whose digest sorted first answered,
 * not the first journaled.
 */
import { afterAll, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { messageId } from '../../snapshots/journal-record.js';
import { journaledTotal, joinedPublisher, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const dir = tempDir();
let svc: RunningService | null = null;
afterAll(async () => {
  await svc?.stop('SIGKILL');
  dir.remove();
});

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';

type Sent = { topic: string; timestamp: number; msg_id: string; msg: { user: string } };

const userAt = async (base: string, id: string): Promise<string | undefined> => {
  const res = await getJson(`${base}/id?id=${encodeURIComponent(id)}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as Sent).msg.user;
};

it('answers the message its publisher named, and of a reused msg_id the first journaled', async () => {
  const now = Math.floor(Date.now() / 1000);
  const message = (msgId: string, user: string, ago: number): Sent => ({
    topic: TOPIC,
    timestamp: now - ago,
    msg_id: msgId,
    msg: { user },
  });
  const real = message('2026-id-lookup-real', 'real', 30);
  // A later message named after the real one: its index key sorts first.
  const impostor = message('2026-id-lookup-real#0', 'impostor', 20);
  // Two messages under one msg_id, the second chosen so its index key sorts before the first's.
  const first = message('2026-id-lookup-reused', 'first', 10);
  const firstKey = messageId(first as unknown as Envelope);
  let second = message('2026-id-lookup-reused', 'second-0', 5);
  for (let n = 1; messageId(second as unknown as Envelope) > firstKey; n++)
    second = message('2026-id-lookup-reused', `second-${n}`, 5);
  const sent = [real, impostor, first, second];

  svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
  const s = svc;
  const pub = await joinedPublisher(s);
  for (const m of sent) {
    await pub.send(m.topic, JSON.stringify(m));
    // One at a time, so the journal's order is the order sent.
    const want = sent.indexOf(m) + 1;
    await eventually(
      async () => ((await journaledTotal(s.base)) === want ? true : undefined),
      15_000,
      `message ${want}`,
    );
  }
  pub.close();

  const check = async (base: string) => {
    expect(await userAt(base, real.msg_id)).toBe('real');
    expect(await userAt(base, impostor.msg_id)).toBe('impostor');
    expect(await userAt(base, first.msg_id)).toBe('first');
    // A full id still names its own message.
    expect(await userAt(base, messageId(second as unknown as Envelope))).toBe(second.msg.user);
    expect((await getJson(`${base}/id?id=2026-id-lookup`)).status).toBe(404);
  };
  await check(s.base);

  // The index is LMDB's: the same answers after a restart.
  expect(await s.stop('SIGTERM')).toBe(0);
  svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
  await waitReady(svc);
  await check(svc.base);
}, 120_000);
