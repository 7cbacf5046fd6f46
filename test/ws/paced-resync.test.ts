import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MovedClock } from '../helpers/moved-clock.js';
import { eventually, fatBatch, type Frame, type Live, RawClient, startLive } from './harness.js';

// Soft limit 64 KiB, hard limit 4× = 256 KiB. Sixty views of five fat rows (~41 KB each, under
// the soft limit) make ~2.5 MB of snapshots: far over the hard limit (and what the kernel's
// socket buffers take at once) together.
const SOFT = 64 * 1024;
const VIEWS = Array.from({ length: 60 }, (_, i) => ({
  order: i % 2 === 0 ? 'desc' : 'asc',
  page: (Math.floor(i / 2) % 10) + 1,
  rows_per_page: 5,
  limit: 50 - Math.floor(i / 20),
}));
const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

/** A client subscribed to every view, holding all their first snapshots. */
async function subscribedClient(live: Live): Promise<RawClient> {
  const c = await RawClient.open(live.wsUrl);
  VIEWS.forEach((params, id) => c.send({ op: 'subscribe', ident: 'fat-rows', id, params }));
  await eventually(() => (c.of('snapshot').length === VIEWS.length ? true : undefined), 10_000, 'every first snapshot');
  return c;
}

/** Every message stamped alike: a changed row keeps its place, so it changes one page of each order, not all. */
const T = Math.floor(Date.now() / 1000);
const stamped = (count: number, from: number) => fatBatch(count, from).map((e) => ({ ...e, timestamp: T }));

/** Four fat messages (four rows of ~8 KB, each in two views): even two batches in one tick stay under the gap between soft and hard. */
async function publishFour(live: Live, n: number): Promise<number> {
  await live.publish(stamped(4, n));
  return n + 4;
}

/** Stops reading, and publishes until the hub marks the client slow. */
async function makeSlow(live: Live, c: RawClient, from: number): Promise<number> {
  socketOf(c).pause();
  let n = from;
  await eventually(
    async () => {
      if (c.closed !== null) throw new Error(`closed while filling: ${JSON.stringify(c.closed)}`);
      n = await publishFour(live, n);
      return live.service.hub.counts().slow > 0 ? true : undefined;
    },
    30_000,
    'the client to be marked slow',
  );
  return n;
}

/** Reads in steps: resumes the socket, pauses it once `step` bytes came in, resumes 20 ms later. */
function readSlowly(c: RawClient, step = 32 * 1024): { stop(): void } {
  const socket = socketOf(c);
  let got = 0;
  let stopped = false;
  const onData = (chunk: Buffer) => {
    got += chunk.length;
    if (got < step) return;
    got = 0;
    socket.pause();
    setTimeout(() => stopped || socket.resume(), 20);
  };
  socket.on('data', onData);
  socket.resume();
  return {
    stop() {
      stopped = true;
      socket.pause();
      socket.off('data', onData);
    },
  };
}

const resyncs = (c: RawClient) => c.frames.filter((f) => f.type === 'snapshot' && f['reason'] === 'resync');

describe('back-pressure: resync snapshots over the hard limit together, to a client that reads', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxBufferedBytes: SOFT, wsSlowTimeoutSeconds: 30 });
    await live.publish(stamped(50, 0));
  });
  afterAll(() => live?.close());

  it('paces them by its queue: every view gets its snapshot, then its updates in order, and it stays open', async () => {
    const c = await subscribedClient(live);
    let n = await makeSlow(live, c, 50);
    const reader = readSlowly(c);
    await eventually(
      () => (c.closed !== null || resyncs(c).length >= VIEWS.length ? true : undefined),
      30_000,
      'a resync snapshot of every view (or a close)',
    );
    expect(c.closed).toBeNull();
    const got = resyncs(c);
    expect(new Set(got.map((f) => f['id']))).toEqual(new Set(VIEWS.map((_, id) => id)));
    await eventually(() => (live.service.hub.counts().slow === 0 ? true : undefined), 10_000, 'the client healthy');
    expect(live.service.hub.stats.slowClosed).toBe(0);

    // Live again: each view's updates follow its resync snapshot, seq by seq.
    const mark = c.frames.length;
    for (let i = 0; i < 5; i++) {
      await live.publish(stamped(10, n));
      n += 10;
    }
    await eventually(
      () => (c.frames.slice(mark).filter((f) => f.type === 'update').length >= 20 ? true : undefined),
      10_000,
      'updates after the resync',
    );
    // From the first resync on, a view's update only ever follows its own resync snapshot, seq by seq.
    const last = new Map<string, number>();
    let checked = 0;
    for (const f of c.frames.slice(c.frames.indexOf(got[0] as Frame)) as Frame[]) {
      if (f.type === 'snapshot') last.set(f['view'] as string, f['seq'] as number);
      else if (f.type === 'update') {
        expect(last.has(f['view'] as string)).toBe(true);
        expect(f.seq).toBe((last.get(f['view'] as string) ?? Number.NaN) + 1);
        last.set(f['view'] as string, f.seq);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
    expect(c.closed).toBeNull();
    reader.stop();
    c.close();
  }, 90_000);
});

describe('back-pressure: paced resync still gives up on a client that stops reading', () => {
  const SLOW_TIMEOUT_S = 5;
  const clock = new MovedClock();
  let live: Live;
  beforeAll(async () => {
    live = await startLive(
      {
        wsMaxBufferedBytes: SOFT,
        wsSlowTimeoutSeconds: SLOW_TIMEOUT_S,
        wsMaxSubscriptionsPerIp: 2 * VIEWS.length,
      },
      { clock },
    );
    await live.publish(stamped(50, 0));
  });
  afterAll(() => live?.close());

  it('closes one that never reads, and one that stops in the middle of its resync', async () => {
    const never = await subscribedClient(live);
    const midway = await subscribedClient(live);
    let n = 50;
    // The one that never reads first, then the one read from midway, which is read from at once:
    // it has --ws-slow-timeout (5 s) from being marked slow to show progress, and on a loaded box
    // the publishing that marks the other slow took longer than that when it came after.
    socketOf(never).pause();
    const slowOnes = async (count: number, what: string) =>
      eventually(
        async () => {
          if (midway.closed !== null)
            throw new Error(`closed before it was read from: ${JSON.stringify(midway.closed)}`);
          if (live.service.hub.stats.slowEntered >= count) return true;
          n = await publishFour(live, n);
          return undefined;
        },
        30_000,
        what,
      );
    await slowOnes(1, 'the client that never reads marked slow');
    socketOf(midway).pause();
    await slowOnes(2, 'the client read from midway marked slow');
    const reader = readSlowly(midway, 256 * 1024);
    await eventually(
      () => {
        if (resyncs(midway).length > 0) return true;
        if (midway.closed !== null) throw new Error(`closed before a resync: ${JSON.stringify(midway.closed)}`);
        return undefined;
      },
      30_000,
      'a first resync snapshot',
    );
    reader.stop();
    expect(resyncs(midway).length).toBeLessThan(VIEWS.length);
    // Updates keep coming: the views it was re-sent rejoined their topics, and queue for it.
    // Neither reads from here on: each round moves the hub's clock past the slow timeout, once
    // to close a client (closeSlow) and once more to cut it off as its queue never drains.
    await eventually(
      async () => {
        n = await publishFour(live, n);
        clock.moveOn(SLOW_TIMEOUT_S * 1000 + 1000);
        return live.service.hub.counts().connections === 0 ? true : undefined;
      },
      30_000,
      'both stuck clients closed',
    );
    expect(live.service.hub.stats.slowClosed).toBe(2);
    expect(live.server().connections()).toBe(0);
    never.ws.terminate();
    midway.ws.terminate();
    expect(n).toBeGreaterThan(50);
  }, 90_000);
});
