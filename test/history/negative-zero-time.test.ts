/**
 * A timestamp of -0 (JSON allows `"timestamp": -0`, and an AMQP `sent-at` double can be -0) is
 * not negative, so it was taken in as it came. The journal's time index keys it as
 * [timestamp, seq], and LMDB's ordered-binary key encoding has no form for -0: the key came out
 * as garbage sorting after every time, so the message was missing from every `/raw` window, and
 * trimming the journal, which removes [0, seq] (the record reads back 0), never removed it.
 * Whichever thread decodes a message, its time is now +0.
 */
import { afterAll, expect, it } from 'vitest';
import { joinedPublisher } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const dir = tempDir();
let svc: RunningService | null = null;
afterAll(async () => {
  await svc?.stop('SIGKILL');
  dir.remove();
});

const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';

type RawPage = { raw_messages: { msg_id: string; timestamp: number }[]; total: number };

it('a message dated -0 is in the history as one dated 0, decoded on the main thread too', async () => {
  // Decoded on the main thread (as AMQP deliveries and backfilled messages always are).
  svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600', '--bus-thread', 'false']);
  const s = svc;
  const pub = await joinedPublisher(s);
  const now = Math.floor(Date.now() / 1000);
  const bodies = [
    `{"topic":"${TOPIC}","timestamp":-0,"msg_id":"2026-minus-zero","msg":{"user":"a"}}`,
    `{"topic":"${TOPIC}","timestamp":-0.0,"msg_id":"2026-minus-zero-float","msg":{"user":"b"}}`,
    `{"topic":"${TOPIC}","timestamp":0,"msg_id":"2026-zero","msg":{"user":"c"}}`,
    `{"topic":"${TOPIC}","timestamp":${now - 5},"msg_id":"2026-now","msg":{"user":"d"}}`,
  ];
  for (const body of bodies) await pub.send(TOPIC, body);
  pub.close();
  // Every message is in the id index, whatever its time.
  for (const id of ['2026-minus-zero', '2026-minus-zero-float', '2026-zero', '2026-now'])
    await eventually(
      async () => ((await getJson(`${s.base}/id?id=${id}`)).status === 200 ? true : undefined),
      15_000,
      id,
    );
  // The history's whole window, and the first second of 1970.
  const all = (await getJson(`${s.base}/raw?rows_per_page=10`)).body as RawPage;
  expect(all.total).toBe(4);
  expect(all.raw_messages).toHaveLength(4);
  const res = await getJson(`${s.base}/raw?start=0&end=1&order=asc&rows_per_page=10`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const page = res.body as RawPage;
  expect(page.raw_messages.map((m) => m.msg_id).sort()).toEqual([
    '2026-minus-zero',
    '2026-minus-zero-float',
    '2026-zero',
  ]);
  expect(page.total).toBe(3);
  for (const m of page.raw_messages) expect(Object.is(m.timestamp, 0)).toBe(true);
}, 60_000);
