/**
 * A live view keeps its recent update frames so a reconnecting client can resume: at most
 * --ws-resume-frames of them, and at most 1 MiB (hub-views.ts), since one frame carries whatever
 * rows changed and rows are as large as their plugin makes them. Through the real server,
 * with frames of 8 KB and no frame bound in the way: a resume point within the last 1 MiB is
 * replayed; one older is answered with a fresh snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatBatch, type Frame, type Live, RawClient, startLive } from './harness.js';

const HISTORY_BYTES = 1024 * 1024;

describe('live view history, bounded in bytes', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsResumeFrames: 100_000 });
  });
  afterAll(() => live?.close());

  it('replays a resume point within the last MiB of frames and answers an older one with a snapshot', async () => {
    const a = await RawClient.open(live.wsUrl);
    a.send({ op: 'subscribe', ident: 'fat-rows', id: 'a' });
    const snap = (await a.next((f) => f.type === 'snapshot', 'snapshot')) as Extract<Frame, { type: 'snapshot' }>;
    // One message per tick: each update frame carries one 8 KB row.
    const updates = 180;
    for (let k = 0; k < updates; k++) {
      await live.publish(fatBatch(1, k));
      await a.next((f) => f.type === 'update' && f.seq === snap.seq + k + 1, `update ${k + 1}`, 0);
    }
    const frames = a.of('update');
    expect(frames).toHaveLength(updates);
    const bytes = frames.map((f) => JSON.stringify(f).length);
    expect(Math.min(...bytes)).toBeGreaterThan(8192);
    expect(bytes.reduce((x, y) => x + y, 0)).toBeGreaterThan(HISTORY_BYTES * 1.3);
    a.close();

    const resume = async (seq: number) => {
      const c = await RawClient.open(live.wsUrl);
      c.send({ op: 'subscribe', ident: 'fat-rows', resume: { epoch: snap.epoch, seq } });
      const answer = await c.next((f) => f.type === 'snapshot' || f.type === 'resumed', `answer to resume at ${seq}`);
      c.close();
      return answer;
    };
    // The newest 100 frames (~0.8 MiB) are kept: replayed.
    const recent = snap.seq + updates - 100;
    expect(await resume(recent)).toMatchObject({ type: 'resumed' });
    // The first ones went to keep the view within its MiB: a fresh snapshot instead.
    expect(await resume(snap.seq)).toMatchObject({ type: 'snapshot', reason: 'resume_gap' });
  }, 60_000);
});

describe('live view history, bounded in bytes over all views (--ws-resume-bytes)', () => {
  const BUDGET = 256 * 1024;
  const VIEWS = 4;
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsResumeFrames: 100_000, wsResumeBytes: BUDGET });
  });
  afterAll(() => live?.close());

  const historyMetric = async () =>
    Number(/^statscache_ws_history_bytes (\d+)$/m.exec(await (await fetch(`${live.base}/metrics`)).text())?.[1]);

  it(`${VIEWS} views share the budget: each keeps its share, a lingering one too, and resumes within it`, async () => {
    const c = await RawClient.open(live.wsUrl);
    // Distinct views of the same rows: every new fat message changes each of them.
    for (let v = 0; v < VIEWS; v++)
      c.send({ op: 'subscribe', ident: 'fat-rows', params: { rows_per_page: 100 - v }, id: v });
    const snaps = await Promise.all(
      Array.from({ length: VIEWS }, (_, v) =>
        c.next((f) => f.type === 'snapshot' && f['id'] === v, `snapshot ${v}`, 0),
      ),
    );
    const updates = 60;
    // Publishes `count` fat messages, one per tick, each seen as an update by every view in `views`.
    const feed = async (from: number, count: number, views: readonly number[]) => {
      for (let k = from; k < from + count; k++) {
        await live.publish(fatBatch(1, k));
        await c.next(
          () => views.every((v) => c.of('update').some((f) => f.view === viewKey(v) && f.seq === seqOf(v) + k + 1)),
          `update ${k + 1} of views ${views.join(',')}`,
          0,
        );
      }
    };
    const viewKey = (v: number) => String(snaps[v]?.view);
    const seqOf = (v: number) => snaps[v]?.seq as number;
    await feed(0, updates, [0, 1, 2, 3]);
    // 4 views × 60 frames of over 8 KB: about 2 MB sent, a quarter of 256 KiB kept per view.
    const sent = c.of('update').reduce((n, f) => n + JSON.stringify(f).length, 0);
    expect(sent).toBeGreaterThan(BUDGET * 6);
    const held = live.service.hub.viewStats().historyBytes;
    expect(held).toBeGreaterThan(BUDGET / 2);
    expect(held).toBeLessThanOrEqual(BUDGET);
    expect(await historyMetric()).toBe(held);

    const resume = async (view: number, back: number) => {
      const r = await RawClient.open(live.wsUrl);
      const seq = (snaps[view]?.seq as number) + updates - back;
      r.send({
        op: 'subscribe',
        ident: 'fat-rows',
        params: { rows_per_page: 100 - view },
        resume: { epoch: snaps[view]?.epoch, seq },
      });
      const answer = await r.next((f) => f.type === 'snapshot' || f.type === 'resumed', `resume ${view} at ${seq}`);
      r.close();
      return answer;
    };
    // A share is 64 KiB: the last 5 frames (~42 KB) are kept, 20 (~170 KB) are not.
    expect(await resume(0, 5)).toMatchObject({ type: 'resumed', replayed: 5 });
    expect(await resume(1, 20)).toMatchObject({ type: 'snapshot', reason: 'resume_gap' });

    // Views 1-3 left (they linger, with 64 KiB each), four more opened: every share drops to
    // 32 KiB, the lingering views' at once (they see no frame to trim at), the others' as frames come.
    for (const v of [1, 2, 3]) c.send({ op: 'unsubscribe', id: v });
    for (let v = VIEWS; v < 2 * VIEWS; v++)
      c.send({ op: 'subscribe', ident: 'fat-rows', params: { rows_per_page: 100 - v }, id: v });
    for (let v = VIEWS; v < 2 * VIEWS; v++)
      snaps[v] = await c.next((f) => f.type === 'snapshot' && f['id'] === v, `snapshot ${v}`, 0);
    const more = 30;
    for (let k = 0; k < more; k++) {
      await live.publish(fatBatch(1, updates + k));
      await c.next(
        () =>
          [0, 4].every((v) =>
            c.of('update').some((f) => f.view === viewKey(v) && f.seq === seqOf(v) + (v === 0 ? updates : 0) + k + 1),
          ),
        `update ${updates + k + 1}`,
        0,
      );
    }
    expect(live.service.hub.viewStats()).toMatchObject({ idle: 3, watched: 5 });
    const after = live.service.hub.viewStats().historyBytes;
    expect(after).toBeGreaterThan(BUDGET * 0.6);
    expect(after).toBeLessThanOrEqual(BUDGET);
    c.close();
  }, 60_000);
});
