/**
 * A live view keeps its recent update frames so a reconnecting client can resume: at most
 * --ws-resume-frames of them, and at most 1 MiB (ws-hub.ts), since one frame carries whatever
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
