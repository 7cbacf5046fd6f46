import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Publisher } from 'zeromq';
import { recentSamples } from '../helpers/fixtures.js';
import { digestsOf, metricOf, waitReady } from '../helpers/probes.js';
import { busFixture } from '../helpers/bus-fixture.js';
import { eventually, getJson, startService, type RunningService } from '../helpers/service-process.js';

/**
 * Sends a message on a category of its own and waits until it is served: ZeroMQ delivers in
 * order, so every message sent before it has been applied by then.
 */
async function sendMarker(pub: Publisher, base: string, category: string): Promise<void> {
  const topic = `org.fedoraproject.prod.${category}.done`;
  await pub.send([topic, JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `2026-${category}`, msg: {} })]);
  await eventually(async () => {
    const rows = (await getJson(`${base}/api/volume-by-category-1d?rows_per_page=100`)).body as { category: string }[];
    return rows.some((r) => r.category === category) ? true : undefined;
  });
}

/**
 * Messages taken in on the main thread by every start but the first: the disk is the subject, and
 * the bus thread only decodes and hands over what the intake (main thread either way) journals.
 * The first start keeps the default, so the bus thread's path meets a full disk too.
 */
const NO_BUS_THREAD = ['--bus-thread', 'false'];

/**
 * A disk that refuses writes (full, or here a file size limit: a real EFBIG from the kernel,
 * the way a full disk fails LMDB's commit). It used to end the process: lmdb-js leaves the
 * failed commit's promise unhandled. Now every message is still applied and served, held in
 * memory and written again once the disk takes writes, and /healthz, /readyz and /metrics say
 * what a restart would lose until then.
 */
describe('a disk that refuses writes, then takes them again', () => {
  const { dir, pub, use } = busFixture();

  const volumeTotal = async (base: string): Promise<number> => {
    const res = await getJson(`${base}/api/volume-by-category-1d?rows_per_page=100`);
    expect(res.status).toBe(200);
    return (res.body as { volume: number }[]).reduce((a, r) => a + r.volume, 0);
  };

  it('keeps serving every message, says what is at risk, writes it all once it can, and loses nothing to a kill', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const args = ['--connect', pub.lastEndpoint as string, '--data-dir', dir.path, '--snapshot-interval', '3600'];
    // 1 MiB: the empty data file fits, a few hundred real messages do not.
    const s = await startService(args, {}, { fileSizeLimitKb: 1024 });
    use(s);
    await waitReady(s);
    const healthy = (await getJson(`${s.base}/healthz`)).body as Record<string, unknown>;
    expect(healthy['degraded']).toBeUndefined();

    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const m = samples[sent % samples.length] as Record<string, unknown>;
        await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `2026-disk-${sent}` })]);
        sent++;
      }
    };
    /** Sends real messages until a journal commit is refused; the first may go before the subscription has joined. */
    const sendUntilRefused = async (target: RunningService) => {
      const before = await metricOf(target.base, 'statscache_intake_total', 'event="journal_write_errors"');
      await eventually(
        async () => {
          await send(200);
          return (await metricOf(target.base, 'statscache_intake_total', 'event="journal_write_errors"')) > before
            ? true
            : undefined;
        },
        60_000,
        'a journal commit refused by the file size limit',
      );
    };
    await sendUntilRefused(s);
    // Messages may still be in flight: a marker on a category of its own, delivered in order
    // behind them all, says when every one has been applied.
    await sendMarker(pub, s.base, 'diskmarker');
    const accepted = await metricOf(s.base, 'statscache_bus_accepted_total');
    expect(accepted).toBeGreaterThan(1);
    expect(await metricOf(s.base, 'statscache_journal_applied_seq')).toBe(accepted);

    // Still alive and serving all of it, and saying so.
    expect(s.child.exitCode).toBeNull();
    expect(await volumeTotal(s.base)).toBe(accepted);
    const health = await getJson(`${s.base}/healthz`);
    expect(health.status).toBe(200);
    expect(String((health.body as Record<string, unknown>)['degraded'])).toMatch(
      /journal writes failing since .*: .*accepted messages held in memory/,
    );
    const ready = await getJson(`${s.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(String((ready.body as Record<string, unknown>)['degraded'])).toMatch(/a restart now would lose them/);
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(1);
    const held = await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"');
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(accepted);
    expect(s.logs.some((l) => l.includes('"msg":"journal write failed'))).toBe(true);

    // Room again: the retry writes what was held, with nothing new needed to carry it.
    execFileSync('prlimit', ['--pid', String(s.child.pid), '--fsize=unlimited']);
    await eventually(
      async () =>
        (await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"')) === 0 ? true : undefined,
      60_000,
      'the held records written',
      // Written at the journal's next retry (1 s or more away): /metrics, each render ~7 ms of
      // the service's CPU, asked 4 times a second rather than 20.
      250,
    );
    expect((await getJson(`${s.base}/readyz`)).body).not.toHaveProperty('degraded');
    expect((await getJson(`${s.base}/healthz`)).body).not.toHaveProperty('degraded');
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(0);
    // The log comes over the child's stdout, which this process may read after the HTTP answers.
    await eventually(() => s.logs.some((l) => l.includes('"msg":"journal writes succeed again')) || undefined);
    const raw = (await getJson(`${s.base}/raw?rows_per_page=1`)).body as { total: number };
    expect(raw.total).toBe(accepted);
    const digests = await digestsOf(s.base);

    // No snapshot was taken (interval of an hour): only the journal can bring it all back.
    expect(await s.stop('SIGKILL')).toBeNull();
    const again = await startService([...args, ...NO_BUS_THREAD]);
    use(again);
    await waitReady(again);
    expect(await volumeTotal(again.base)).toBe(accepted);
    expect(await digestsOf(again.base)).toEqual(digests);
    expect(await metricOf(again.base, 'statscache_journal_last_seq')).toBe(accepted);

    // Full again (no growth past the file as it is now), and stopped before it clears. The final
    // snapshot may still fit in the file's free pages (then it covers every held message), or
    // not: either way the exit code and the log tell the truth about what a restart finds.
    const size = statSync(join(dir.path, 'statscache.lmdb')).size; // prlimit takes bytes
    execFileSync('prlimit', ['--pid', String(again.child.pid), `--fsize=${size}:unlimited`]);
    await sendUntilRefused(again);
    expect(await metricOf(again.base, 'statscache_journal_unwritten_records', 'state="held"')).toBeGreaterThan(0);
    // Applied, not only refused by the disk: the rest of the last 200 may still be on their way
    // (the bus, the commit that fails, then the apply), and the stop below takes them in and
    // snapshots them all the same, so `served` read now could fall short of what comes back.
    await sendMarker(pub, again.base, 'fullmarker');
    const served = await volumeTotal(again.base);
    expect(served).toBeGreaterThan(accepted);
    const code = await again.stop('SIGTERM');
    const lost = again.logs.some((l) => l.includes('"msg":"stopping with accepted messages on no disk'));
    const last = await startService([...args, ...NO_BUS_THREAD]);
    use(last);
    await waitReady(last);
    if (code === 0) {
      expect(lost).toBe(false);
      expect(await volumeTotal(last.base)).toBe(served);
    } else {
      // Exit 1 from the failed stop itself, not from --stop-timeout's guard: LMDB is not waited
      // for after a failed commit (it would never settle).
      expect(code).toBe(1);
      expect(again.logs.some((l) => l.includes('"msg":"stop failed'))).toBe(true);
      expect(again.logs.some((l) => l.includes('graceful stop took too long'))).toBe(false);
      expect(lost).toBe(true);
      expect(again.logs.some((l) => l.includes('"msg":"snapshot failed'))).toBe(true);
      expect(await volumeTotal(last.base)).toBeLessThan(served);
    }
  }, 180_000);
});

/**
 * More accepted than the hold keeps (a small --journal-max-held-bytes): the oldest records are let
 * go, and only a snapshot puts those messages on disk. With snapshots an hour apart, the one
 * that does must be the one taken as soon as journal writes succeed again.
 */
describe('records let go past the hold while the disk refuses writes', () => {
  const { dir, pub, use } = busFixture();

  it('are on disk by a snapshot taken once writes succeed, not an hour later', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const args = [
      '--connect',
      pub.lastEndpoint as string,
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--journal-max-held-bytes',
      '65536',
      ...NO_BUS_THREAD,
    ];
    const s = await startService(args, {}, { fileSizeLimitKb: 1024 });
    use(s);
    await waitReady(s);
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
    let sent = 0;
    const dropped = () => metricOf(s.base, 'statscache_journal_unwritten_records', 'state="dropped"');
    await eventually(
      async () => {
        for (let i = 0; i < 200; i++, sent++) {
          const m = samples[sent % samples.length] as Record<string, unknown>;
          await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `2026-drop-${sent}` })]);
        }
        return (await dropped()) > 0 ? true : undefined;
      },
      60_000,
      'records let go past a 64 KiB hold',
    );
    await sendMarker(pub, s.base, 'dropmarker');
    const accepted = await metricOf(s.base, 'statscache_bus_accepted_total');
    const ready = (await getJson(`${s.base}/readyz`)).body as Record<string, unknown>;
    expect(String(ready['degraded'])).toMatch(/\d+ accepted messages not journaled \(too many to hold\)/);
    // Snapshots an hour apart: a newer generation after this can only be the one taken on recovery.
    const generationBefore = await metricOf(s.base, 'statscache_snapshot_generation');

    execFileSync('prlimit', ['--pid', String(s.child.pid), '--fsize=unlimited']);
    await eventually(
      async () =>
        ((await getJson(`${s.base}/readyz`)).body as Record<string, unknown>)['degraded'] === undefined || undefined,
      60_000,
      'degraded cleared by the snapshot taken once writes succeed',
    );
    expect(await dropped()).toBe(0);
    expect(await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"')).toBe(0);
    await eventually(() => s.logs.some((l) => l.includes('reach the disk with a snapshot, taken now')) || undefined);
    expect(await metricOf(s.base, 'statscache_snapshot_generation')).toBeGreaterThan(generationBefore);
    const digests = await digestsOf(s.base);

    // Killed: the snapshot and the journal after it bring back every accepted message.
    expect(await s.stop('SIGKILL')).toBeNull();
    const again = await startService(args);
    use(again);
    await waitReady(again);
    const total = (await getJson(`${again.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
      volume: number;
    }[];
    expect(total.reduce((a, r) => a + r.volume, 0)).toBe(accepted);
    expect(await digestsOf(again.base)).toEqual(digests);
  }, 180_000);
});

/**
 * Held records (within the hold) and a snapshot that succeeds before the journal's own retry:
 * the snapshot used to discard them as "covered". Their messages were in the state, but not in
 * the journal or its id index: /raw had a gap, a repeat after a restart was counted again, and a
 * rebuild from the journal lost them.
 */
describe('records held while the disk refused writes, when a snapshot is the first write to succeed', () => {
  const { dir, pub, use } = busFixture();

  it('are written to the journal then, so a restart and a repeat of every message count each once', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const token = 'disk-full-test-token-0123456789';
    const args = [
      '--connect',
      pub.lastEndpoint as string,
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      ...NO_BUS_THREAD,
    ];
    const env = { STATSCACHE_ADMIN_TOKEN: token };
    const s = await startService(args, env, { fileSizeLimitKb: 1024 });
    use(s);
    await waitReady(s);
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
    const messages: [string, string][] = [];
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const m = samples[messages.length % samples.length] as Record<string, unknown>;
        const frames: [string, string] = [
          String(m['topic']),
          JSON.stringify({ ...m, msg_id: `2026-race-${messages.length}` }),
        ];
        messages.push(frames);
        await pub.send(frames);
      }
    };
    const writeErrors = () => metricOf(s.base, 'statscache_intake_total', 'event="journal_write_errors"');
    await eventually(
      async () => {
        await send(200);
        return (await writeErrors()) > 0 ? true : undefined;
      },
      60_000,
      'a journal commit refused by the file size limit',
    );
    // A few failed retries, so the next one is seconds away when room comes back.
    // Retries 1, 2 and 4 s apart: /metrics asked 4 times a second rather than 20 meanwhile.
    await eventually(async () => ((await writeErrors()) >= 4 ? true : undefined), 30_000, 'four failed tries', 250);
    await sendMarker(pub, s.base, 'racemarker');
    const accepted = await metricOf(s.base, 'statscache_bus_accepted_total');
    expect(await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"')).toBeGreaterThan(0);

    execFileSync('prlimit', ['--pid', String(s.child.pid), '--fsize=unlimited']);
    const snap = await fetch(`${s.base}/admin/snapshot`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(snap.status).toBe(200);
    // Once the snapshot has answered, every accepted message is in the journal too.
    expect(await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"')).toBe(0);
    expect(((await getJson(`${s.base}/raw?rows_per_page=1`)).body as { total: number }).total).toBe(accepted);

    expect(await s.stop('SIGKILL')).toBeNull();
    const again = await startService(args, env);
    use(again);
    await waitReady(again);
    // The new subscription joins the publisher a little after start: what is sent before is not
    // received. One message (the same id each time) until it is served says it has joined.
    const joinTopic = 'org.fedoraproject.prod.racejoin.done';
    const join: [string, string] = [
      joinTopic,
      JSON.stringify({ topic: joinTopic, timestamp: Date.now() / 1000, msg_id: '2026-racejoin', msg: {} }),
    ];
    const categories = async () =>
      (
        (await getJson(`${again.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
          category: string;
          volume: number;
        }[]
      ).filter((r) => r.category !== 'racejoin' && r.category !== 'racemarker2');
    await eventually(
      async () => {
        await pub.send(join);
        const rows = (await getJson(`${again.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
          category: string;
        }[];
        return rows.some((r) => r.category === 'racejoin') || undefined;
      },
      60_000,
      'the restarted service subscribed',
    );
    // Every message again (a publisher's repeat, a backfill): each is known, none counted twice.
    for (const frames of messages) await pub.send(frames);
    // Sent until served (the same id each time, so counted once): a loaded machine may take a
    // while, and ZeroMQ delivers in order, so what came before has been applied by then.
    const markerTopic = 'org.fedoraproject.prod.racemarker2.done';
    const marker: [string, string] = [
      markerTopic,
      JSON.stringify({ topic: markerTopic, timestamp: Date.now() / 1000, msg_id: '2026-racemarker2', msg: {} }),
    ];
    await eventually(
      async () => {
        await pub.send(marker);
        const rows = (await getJson(`${again.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
          category: string;
        }[];
        return rows.some((r) => r.category === 'racemarker2') || undefined;
      },
      60_000,
      'the marker behind the repeated messages',
    );
    // Each message sent counted once, and the first marker. Not `accepted`: on a loaded machine
    // the first service may have joined the publisher after the first sends (a PUB socket drops
    // what it sends before), and the repeat then brings those in for the first time (one run with
    // three test workers: 1,201 counted, all of them sent once, against 1,079 accepted before).
    expect((await categories()).reduce((a, r) => a + r.volume, 0)).toBe(messages.length + 1);
    // In the journal: those, the join message and the second marker.
    expect(((await getJson(`${again.base}/raw?rows_per_page=1`)).body as { total: number }).total).toBe(
      messages.length + 3,
    );
  }, 180_000);
});
