import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../commands/cli.js';
import { decodeExport } from '../../src/commands/export-format.js';
import { MAX_MESSAGE_DEPTH } from '../../src/envelope-limits.js';
import { connectAmqpPublisher, sentAt } from '../helpers/amqp-publisher.js';
import { amqpReady, consumingInput, skippedDeliveries } from '../helpers/amqp-readiness.js';
import { recentSamples } from '../helpers/fixtures.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import {
  digestsOf,
  joinedPublisher,
  journaledAndApplied,
  journaledTotal,
  metricOf,
  waitReady,
} from '../helpers/probes.js';
import { sharedBroker } from '../helpers/shared-broker.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';

const TOKEN = 'max-depth-test-token-0123456789';
const env = { STATSCACHE_ADMIN_TOKEN: TOKEN };
const auth = { Authorization: `Bearer ${TOKEN}` };
const WIKI = 'org.fedoraproject.prod.wiki.article.edit';

/** JSON nested `levels` deep, its innermost an empty object: objects (`{"a":…}`, msgpackr's deepest frames) or arrays. */
const nested = (levels: number, kind: 'objects' | 'arrays'): string =>
  kind === 'objects'
    ? `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`
    : `${'['.repeat(levels - 1)}{}${']'.repeat(levels - 1)}`;

/** A ZeroMQ envelope `levels` deep in all: it is level 1, `msg` level 2. */
const deepEnvelope = (levels: number, kind: 'objects' | 'arrays', now: number, id: string): string =>
  `{"topic":"${WIKI}","timestamp":${now},"msg_id":"${id}","msg":${nested(levels - 1, kind)}}`;

/** Every message counted by volume-by-category-1d, whatever its category. */
async function volumeTotal(base: string): Promise<number> {
  const res = await getJson(`${base}/api/volume-by-category-1d?rows_per_page=100`);
  expect(res.status).toBe(200);
  expect(Number(res.headers.get('x-link-count'))).toBe(1);
  return (res.body as { volume: number }[]).reduce((n, r) => n + r.volume, 0);
}

/** What a data dir serves that an export and import must keep. */
async function served(base: string) {
  return { journaled: await journaledTotal(base), volume: await volumeTotal(base), digests: await digestsOf(base) };
}

/**
 * Every depth --max-message-depth allows works end to end: a live message nested as deep as it
 * may be (MAX_MESSAGE_DEPTH, the envelope being level 1) is journaled, replayed after a crash,
 * exported by a peer's GET /admin/export and by `snapshot export`, imported into a fresh data
 * dir and served there alike. msgpackr's encoder overflows the stack ~1,240 nested objects deep
 * (~1,400 arrays), and a journal tail message ~1,300 deep once made every export fail: this pins
 * the bound below that.
 */
// The three inputs' round trips share nothing but the cleanup lists (data dirs, ports and broker
// virtual host each their own), and each is a chain of service and CLI starts: they run together.
describe.concurrent(`a bus message nested ${MAX_MESSAGE_DEPTH} deep under --max-message-depth ${MAX_MESSAGE_DEPTH}`, () => {
  const dirs: { path: string; remove(): void }[] = [];
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    for (const d of dirs) d.remove();
  });
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return d.path;
  };
  const start = async (data: string, extra: readonly string[] = []) => {
    const svc = await startService(
      ['--data-dir', data, '--max-message-depth', String(MAX_MESSAGE_DEPTH), '--snapshot-interval', '86400', ...extra],
      env,
    );
    running.push(svc);
    await waitReady(svc);
    return svc;
  };

  /**
   * `svc` has journaled and applied `ids` among what it serves: killed (no final snapshot, so the
   * next start replays them), restarted, exported both ways with them in the journal tail, and
   * imported into a fresh data dir that serves the same.
   */
  const roundTrip = async (svc: RunningService, data: string, ids: readonly string[], extra: readonly string[]) => {
    const before = await served(svc.base);
    await svc.stop('SIGKILL');
    const replayed = await start(data, extra);
    expect(await served(replayed.base)).toEqual(before);

    const snap = await fetch(`${replayed.base}/admin/snapshot`, { method: 'POST', headers: auth });
    expect(snap.status).toBe(200);
    const peer = await fetch(`${replayed.base}/admin/export`, { headers: auth });
    expect(peer.status, await peer.clone().text()).toBe(200);
    const peerTail = decodeExport(Buffer.from(await peer.arrayBuffer())).journalTail.map((e) => e.msg_id);
    expect(peerTail).toEqual(expect.arrayContaining([...ids]));
    expect(await replayed.stop()).toBe(0);

    const file = join(dir(), 'deep.scx');
    const made = await runCli(['snapshot', 'export', file, '--data-dir', data]);
    expect(made.code, made.stderr).toBe(0);
    expect(decodeExport(readFileSync(file)).journalTail.map((e) => e.msg_id)).toEqual(expect.arrayContaining([...ids]));
    const fresh = dir();
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', fresh]);
    expect(imported.code, imported.stderr).toBe(0);

    const restored = await start(fresh, extra);
    expect(await served(restored.base)).toEqual(before);
    const again = await fetch(`${restored.base}/admin/export`, { headers: auth });
    expect(again.status, await again.clone().text()).toBe(200);
    expect(await restored.stop()).toBe(0);
  };

  it('over ZeroMQ: journaled, replayed, exported both ways and imported with the same counts', async () => {
    const now = Math.floor(Date.now() / 1000);
    const real = (recentSamples(now - 5) as Sample[]).slice(0, 20);
    const data = dir();
    const svc = await start(data);
    const pub = await joinedPublisher(svc);
    for (const e of real) await pub.send(e.topic, JSON.stringify(e));
    const deep = ['2026-deep-objects', '2026-deep-arrays'];
    for (const kind of ['objects', 'arrays'] as const) {
      await pub.send(WIKI, deepEnvelope(MAX_MESSAGE_DEPTH + 1, kind, now, `2026-too-deep-${kind}`));
      await pub.send(WIKI, deepEnvelope(MAX_MESSAGE_DEPTH, kind, now, `2026-deep-${kind}`));
    }
    pub.close();
    const total = real.length + deep.length;
    await eventually(
      async () => ((await journaledAndApplied(svc.base, total)) ? true : undefined),
      30_000,
      'journaled',
    );
    expect(await volumeTotal(svc.base)).toBe(total);
    await roundTrip(svc, data, deep, []);
  }, 180_000);

  it('from the history (start-up backfill): journaled, replayed, exported both ways and imported with the same counts', async () => {
    const now = Math.floor(Date.now() / 1000);
    const history = await new FakeDatagrepper().start();
    try {
      const real = (recentSamples(now - 5) as Sample[]).slice(0, 20);
      history.messages.push(...real);
      const deep = ['2026-backfilled-deep-objects', '2026-backfilled-deep-arrays'];
      // A /raw row is the envelope: level 1, as on the bus (the answer's own levels are not counted).
      for (const kind of ['objects', 'arrays'] as const) {
        history.messages.push(
          JSON.parse(deepEnvelope(MAX_MESSAGE_DEPTH + 1, kind, now, `2026-backfilled-too-deep-${kind}`)),
        );
        history.messages.push(JSON.parse(deepEnvelope(MAX_MESSAGE_DEPTH, kind, now, `2026-backfilled-deep-${kind}`)));
      }
      // No bus message here: the bus thread, which decodes only ZeroMQ, would cost each start its worker.
      const extra = ['--datagrepper', history.url, '--bus-thread', 'false'];
      const data = dir();
      const svc = await start(data, extra);
      const total = real.length + deep.length;
      await eventually(
        async () => ((await journaledAndApplied(svc.base, total)) ? true : undefined),
        30_000,
        'backfilled',
      );
      expect(await metricOf(svc.base, 'statscache_intake_total', 'event="backfill_invalid"')).toBe(2);
      expect(await volumeTotal(svc.base)).toBe(total);
      // Every later start backfills the same rows again over --backfill-overlap: each counted once.
      await roundTrip(svc, data, deep, extra);
    } finally {
      await history.close();
    }
  }, 180_000);

  it('over AMQP: journaled, replayed, exported both ways and imported with the same counts', async () => {
    const broker = await sharedBroker();
    try {
      const topic = `org.test.statscache.deepmsg.${randomUUID().slice(0, 8)}`;
      // No ZeroMQ message here: the bus thread, which decodes only ZeroMQ, would cost each start its worker.
      const extra = ['--amqp', broker.url, '--amqp-binding', topic, '--bus-thread', 'false'];
      const data = dir();
      const svc = await start(data, extra);
      await consumingInput(svc);
      const pub = await connectAmqpPublisher(broker.url);
      const send = (id: string, body: string, deepHeader?: number) =>
        pub.publishRaw(topic, body, {
          messageId: id,
          headers: {
            'sent-at': sentAt(Date.now() / 1000),
            ...(deepHeader === undefined ? {} : { deep: JSON.parse(nested(deepHeader, 'objects')) }),
          },
        });
      try {
        // The envelope is level 1, its body and its headers table level 2, a header's value level 3.
        send('amqp-too-deep-body', nested(MAX_MESSAGE_DEPTH, 'objects'));
        send('amqp-deep-body', nested(MAX_MESSAGE_DEPTH - 1, 'objects'));
        send('amqp-too-deep-headers', '{"a":1}', MAX_MESSAGE_DEPTH - 1);
        send('amqp-deep-headers', '{"a":2}', MAX_MESSAGE_DEPTH - 2);
        await pub.confirmed();
      } finally {
        await pub.close();
      }
      await eventually(async () => ((await amqpReady(svc))?.acked === 4 ? true : undefined), 30_000, 'four acked');
      await eventually(async () => ((await journaledAndApplied(svc.base, 2)) ? true : undefined), 30_000, 'journaled');
      expect(skippedDeliveries(svc).map((s) => s.reason)).toEqual(['too_deep', 'too_deep']);
      expect(await volumeTotal(svc.base)).toBe(2);
      await roundTrip(svc, data, ['amqp-deep-body', 'amqp-deep-headers'], extra);
    } finally {
      await broker.stop();
    }
  }, 240_000);
});
