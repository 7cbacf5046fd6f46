import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StatscacheClient, type WebSocketCtor } from '../../examples/ws-client/statscache-client.js';
import type { ServerFrame } from '../../src/http/ws-frames.js';
import {
  eventually,
  freePort,
  httpRows,
  keyOf,
  RawClient,
  samplesBatch,
  startLive,
  type Frame,
  type Live,
  canon,
  matchesHttp,
} from './harness.js';

function client(url: string, frames: ServerFrame[] = []): StatscacheClient {
  return new StatscacheClient({
    url,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    initialDelayMs: 50,
    maxDelayMs: 400,
    onFrame: (f) => frames.push(f),
  });
}

describe('resume and reconnect', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live?.close());

  it('replays exactly the missed updates after a dropped connection: seq continuous, no duplicate, same rows as HTTP', async () => {
    const a = await RawClient.open(live.wsUrl);
    a.send({ op: 'subscribe', ident: 'volume-by-category-1s', id: 'x' });
    const snap = (await a.next((f) => f.type === 'snapshot', 'snapshot')) as Extract<Frame, { type: 'snapshot' }>;
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 600));
    await eventually(() => (a.of('update').length > 0 ? true : undefined), 5_000, 'first updates');
    a.close();
    await eventually(() => (a.closed ? true : undefined), 5_000, 'close');
    // Applied before the drop, as the dropped client saw them.
    const held = new Map<string, Record<string, unknown>>();
    let seq = snap.seq;
    const apply = (f: Frame) => {
      if (f.type !== 'update') return;
      expect(f.seq).toBe(seq + 1);
      seq = f.seq;
      for (const k of f.removed) held.delete(JSON.stringify(k));
      for (const r of f.rows) held.set(keyOf(snap.key, r), r);
    };
    for (const r of snap.rows) held.set(keyOf(snap.key, r), r);
    a.frames.forEach(apply);

    // Missed while away: a second burst, newer, so the newest-100 window moves and rows leave it.
    await live.publish(samplesBatch());
    const b = await RawClient.open(live.wsUrl);
    b.send({ op: 'subscribe', ident: 'volume-by-category-1s', id: 'x', resume: { epoch: snap.epoch, seq } });
    const resumed = await b.next((f) => f.type === 'resumed', 'resumed');
    expect(resumed).toMatchObject({ id: 'x', seq, epoch: snap.epoch, view: snap.view });
    expect(resumed['replayed']).toBeGreaterThan(0);
    await eventually(
      async () => {
        const fresh = b.frames.filter((f) => f.type === 'update' && f.seq > seq);
        fresh.forEach(apply);
        return held.size > 0 && canon(held.values()) === canon(await httpRows(live.base, 'volume-by-category-1s'))
          ? true
          : undefined;
      },
      10_000,
      'resumed view to equal HTTP',
    );
    expect(b.of('snapshot')).toHaveLength(0);
    expect(b.of('update').some((u) => u.removed.length > 0)).toBe(true);
    b.close();
  });

  it('the client module reconnects with back-off, resumes, and holds exactly the HTTP views after bursts', async () => {
    const frames: ServerFrame[] = [];
    const c = client(live.wsUrl, frames);
    const subs = [
      c.subscribe('volume-by-category-1s'),
      c.subscribe('volume-1s', { rows_per_page: 10 }),
      c.subscribe('live-per-category-1m', { category: 'buildsys' }),
    ];
    const queries = ['', 'rows_per_page=10', 'category=buildsys'];
    await Promise.all(subs.map((s) => s.ready()));
    const burst = live.publish(samplesBatch());
    c.dropConnection();
    await burst;
    await eventually(
      () => (c.connected && c.stats.resumes + c.stats.snapshots > subs.length ? true : undefined),
      10_000,
      'reconnect',
    );
    await live.publish(samplesBatch());
    for (const [i, s] of subs.entries()) await matchesHttp(live, s, queries[i]);
    expect(c.stats.connects).toBeGreaterThanOrEqual(2);
    expect(c.stats.gaps).toBe(0);
    expect(c.stats.duplicates).toBe(0);
    expect(c.stats.resumes).toBe(subs.length);
    expect(frames.filter((f) => f.type === 'snapshot').map((f) => (f as { reason: string }).reason)).toEqual([
      'subscribe',
      'subscribe',
      'subscribe',
    ]);
    c.close();
  });

  it('sends a fresh snapshot when the gap is older than the kept history', async () => {
    const tiny = await startLive({ wsResumeFrames: 1 });
    try {
      const a = await RawClient.open(tiny.wsUrl);
      a.send({ op: 'subscribe', ident: 'volume-1s' });
      const snap = (await a.next((f) => f.type === 'snapshot', 'snapshot')) as Extract<Frame, { type: 'snapshot' }>;
      a.close();
      await eventually(() => (a.closed ? true : undefined), 5_000, 'close');
      const view = tiny.service.hub;
      await tiny.publish(samplesBatch().slice(0, 50));
      const probe = await RawClient.open(tiny.wsUrl);
      probe.send({ op: 'subscribe', ident: 'volume-1s' });
      await probe.next((f) => f.type === 'snapshot', 'probe snapshot');
      await tiny.publish(samplesBatch(Math.floor(Date.now() / 1000) + 120).slice(0, 50));
      // Every message is applied now, but the view catches up at its next tick: a snapshot is of
      // the rows as of its seq. Wait for the update that brings the newest row HTTP serves.
      const newest = Math.max(...(await httpRows(tiny.base, 'volume-1s')).map((r) => r['timestamp'] as number));
      await eventually(
        () =>
          probe.of('update').length > 0 &&
          probe.of('update').at(-1)!.seq >= snap.seq + 2 &&
          probe.of('update').some((f) => (f.rows as { timestamp: number }[]).some((r) => r.timestamp === newest))
            ? true
            : undefined,
        5_000,
        'two updates past the old seq, the last message in them',
      );
      const b = await RawClient.open(tiny.wsUrl);
      b.send({ op: 'subscribe', ident: 'volume-1s', resume: { epoch: snap.epoch, seq: snap.seq } });
      const again = await b.next((f) => f.type === 'snapshot' || f.type === 'resumed', 'snapshot after a too-old gap');
      expect(again).toMatchObject({ type: 'snapshot', reason: 'resume_gap' });
      expect(again['seq']).toBeGreaterThan(snap.seq + 1);
      expect(canon(again['rows'] as Record<string, unknown>[])).toBe(canon(await httpRows(tiny.base, 'volume-1s')));
      expect(view.counts().views).toBeGreaterThan(0);
      probe.close();
      b.close();
    } finally {
      await tiny.close();
    }
  });

  it('after a server restart the client gets a fresh snapshot (new epoch) with the restored rows', async () => {
    const port = await freePort();
    const first = await startLive({ port });
    const frames: ServerFrame[] = [];
    const c = client(`ws://127.0.0.1:${port}/ws`, frames);
    const sub = c.subscribe('volume-by-category-1m');
    await sub.ready();
    await first.publish(samplesBatch());
    await matchesHttp(first, sub);
    const epoch1 = sub.epoch;
    const closed = new Promise<number>((resolve) => {
      const check = setInterval(() => {
        if (!c.connected) {
          clearInterval(check);
          resolve(0);
        }
      }, 10);
    });
    await first.stop();
    await closed;
    const second = await startLive({ port }, { dataDir: first.dataDir });
    try {
      await eventually(() => (sub.epoch !== epoch1 ? true : undefined), 10_000, 'snapshot from the restarted server');
      const snaps = frames.filter((f) => f.type === 'snapshot') as Extract<ServerFrame, { type: 'snapshot' }>[];
      expect(snaps.at(-1)).toMatchObject({ reason: 'resume_epoch', epoch: second.service.hub.epoch });
      expect(second.service.hub.epoch).not.toBe(epoch1);
      await matchesHttp(second, sub);
      expect(c.stats.gaps).toBe(0);
      c.close();
    } finally {
      await second.close();
      await first.close();
    }
  });
});
