import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { openSockets } from '../../src/bus.js';
import { bindQueue } from '../../src/bus-queue.js';
import { eventually } from '../helpers/service-process.js';

/**
 * libzmq bounds its receive queue per connection: on a --bind socket each publisher that
 * connects got the whole --bus-queue-max, so the socket's total grew with the number of
 * publishers. Each gets a sixteenth of it instead, fixed at bind (see bus-queue.ts), over
 * real sockets; and every connection still flows once the loop reads again.
 */
const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('bindQueue', () => {
  it('is a sixteenth of the bound, at least one message', () => {
    expect(bindQueue(50_000)).toBe(3125);
    expect(bindQueue(100)).toBe(6);
    expect(bindQueue(10)).toBe(1);
  });
});

describe('the bind socket shares --bus-queue-max among its publishers', () => {
  it('four publishers flooding a held receive loop queue less than the bound together, and all flow again', async () => {
    const QUEUE_MAX = 40_000;
    const PUBLISHERS = 4;
    const FLOOD = 50_000;
    const floods = new Array<number>(PUBLISHERS).fill(0);
    const seen = new Set<string>();
    let hold: Promise<void> | null = null;
    let release = () => {};
    const sockets = await openSockets(
      { bind: ['tcp://127.0.0.1:*'], connect: [], topics: [''], queueMax: QUEUE_MAX },
      {
        onFrames: (frames) => {
          const topic = String(frames[0]);
          if (topic.startsWith('f')) {
            // Counted until its publisher's marker is seen: what queued before the marker.
            const p = Number(topic.slice(1));
            if (!seen.has(`m${p}`)) floods[p] = (floods[p] ?? 0) + 1;
          } else seen.add(topic);
          return hold ?? undefined;
        },
        onMonitor: () => {},
        onReceiveError: (err) => {
          throw err;
        },
        onLoopEnd: () => {},
      },
    );
    cleanups.push(() => sockets.close());
    const endpoint = sockets.bound[0] as string;
    const pubs = Array.from({ length: PUBLISHERS }, () => {
      const pub = new Publisher({ sendHighWaterMark: 100, linger: 0 });
      pub.connect(endpoint);
      cleanups.push(() => pub.close());
      return pub;
    });
    // Every publisher's subscription has joined (PUB drops what it sends before that).
    await eventually(
      async () => {
        for (const [p, pub] of pubs.entries()) await pub.send([`j${p}`, '']);
        return pubs.every((_, p) => seen.has(`j${p}`)) ? true : undefined;
      },
      10_000,
      'every publisher joined',
    );
    // The loop stops at the next message, as a main thread that does not keep up stops it.
    hold = new Promise<void>((r) => {
      release = r;
    });
    const body = Buffer.alloc(1500, 'x');
    for (let i = 0; i < FLOOD; i++) for (const [p, pub] of pubs.entries()) await pub.send([`f${p}`, body]);
    const h = hold;
    hold = null;
    release();
    await h;
    // Each publisher's marker comes after whatever of its flood libzmq kept (one queue per connection, in order).
    await eventually(
      async () => {
        for (const [p, pub] of pubs.entries()) if (!seen.has(`m${p}`)) await pub.send([`m${p}`, '']);
        return pubs.every((_, p) => seen.has(`m${p}`)) ? true : undefined;
      },
      30_000,
      'every marker',
    );
    const total = floods.reduce((a, b) => a + b, 0);
    // A sixteenth of the bound each (2,500), plus what TCP buffers and the publisher's own queue
    // (100) hold per connection (~2,700 measured): 82,692 when each had the whole bound.
    expect(total).toBeLessThan(QUEUE_MAX);
    for (const n of floods) expect(n).toBeGreaterThan(0);
  }, 60_000);
});
