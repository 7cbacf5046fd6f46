import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, type Subscriber } from 'zeromq';
import { peakRss } from '../helpers/probes.js';
import { startProxy } from '../helpers/proxy-process.js';
import { joinedReplica, proxyLogged } from '../helpers/proxy-replica.js';
import { eventually } from '../helpers/service-process.js';

/**
 * `statscache proxy` queued up to 100,000 messages per replica whatever their size: a replica
 * that stopped reading let the proxy grow by 100,000 × --max-frame-bytes (a 293 MiB flood grew
 * it by 291 MiB, every message kept). The queue is now cut to the messages at --max-frame-bytes
 * that fit --replica-queue-max-bytes, and each time a replica's queue fills is counted (libzmq
 * then leaves it out until it reads again, and does not tell how many messages it missed).
 */
const FRAME_CAP = 256 * 1024;
/** Exactly 64 messages at the frame cap: the bound is tested where it lies. */
const QUEUE = 64;
const QUEUE_BYTES = QUEUE * FRAME_CAP;
const BODY = 200 * 1024;
const FLOOD = 1500; // 293 MiB
/** Messages sent before the live replica must have them all (it reads as fast as the proxy sends). */
const PACE = 25;
/**
 * Messages beyond the proxy's queue that reach the stalled replica: the proxy's TCP send
 * buffer (tcp_wmem, at most 4 MiB: 20 of these), the replica's receive buffer (set to 256 KiB
 * below, doubled by the kernel), its queue of one and the messages each side's engine is on.
 */
const IN_TRANSIT = 32;
/**
 * Proxy growth over the bound allowed: received buffers the proxy's V8 has not collected yet
 * (+46 to +90 MiB measured for dropped floods in proxy-frame-cap) and libzmq's engines.
 */
const SLACK_MIB = 120;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const joined = (pub: Publisher, backend: string, options: ConstructorParameters<typeof Subscriber>[0] = {}) =>
  joinedReplica(pub, backend, cleanups, options);

/** Receives until `n` messages of `topic` have come (others, such as late join probes, are skipped). */
async function take(sub: Subscriber, topic: string, n: number): Promise<void> {
  for (let got = 0; got < n; ) if (String((await sub.receive())[0]) === topic) got++;
}

describe('statscache proxy bounds each replica’s queue in bytes (--replica-queue-max-bytes)', () => {
  it('a replica that stops reading costs the proxy at most the bound, its queue filling is counted, the others get everything', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const proxy = await startProxy(pub.lastEndpoint as string, 'tcp://127.0.0.1:*', [
      '--max-frame-bytes',
      String(FRAME_CAP),
      '--replica-queue-max-bytes',
      String(QUEUE_BYTES),
    ]);
    cleanups.push(() => proxy.stop('SIGKILL'));
    const live = await joined(pub, proxy.backend);
    live.receiveTimeout = 20_000;
    // The stalled replica: joined, then never reads until the flood is over.
    const stalled = await joined(pub, proxy.backend, { receiveHighWaterMark: 1, receiveBufferSize: 256 * 1024 });

    const pid = proxy.child.pid as number;
    const memory = peakRss(pid, 20);
    cleanups.push(() => memory.stop());
    const body = Buffer.alloc(BODY, 'x');
    for (let sent = 0; sent < FLOOD; ) {
      for (let i = 0; i < PACE; i++, sent++) await pub.send(['flood', body]);
      // The live replica keeps up and gets everything: the stalled one holds none of it back.
      await take(live, 'flood', PACE);
    }
    // All forwarded, so all that is queued for the stalled replica is queued.
    const growth = memory.growth();
    memory.stop();

    // The stalled replica reads again: it gets what the proxy queued for it (and TCP held):
    // flood messages and any join probe that came after the one it took. Then a numbered marker,
    // sent until one comes through (those before it may have found the queue still full).
    stalled.receiveTimeout = 500;
    let kept = 0;
    let lateJoins = 0;
    let markers = 0;
    await eventually(
      async () => {
        await pub.send(['after-flood', String(markers++)]);
        try {
          for (;;) {
            const topic = String((await stalled.receive())[0]);
            if (topic === 'flood') kept++;
            else if (topic === 'join') lateJoins++;
            else if (topic === 'after-flood') return true;
          }
        } catch {
          return undefined;
        }
      },
      20_000,
      'the stalled replica reading again',
    );
    await proxy.stop('SIGTERM');
    const totals = await eventually(() => proxyLogged(proxy, 'stopping proxy')[0]);

    // Unbounded (100,000 messages): +291 MiB, all 1,500 kept for the stalled replica.
    expect(growth).toBeLessThan(QUEUE_BYTES / 2 ** 20 + SLACK_MIB);
    // libzmq learns what the reader took only every low-water mark (half a queue this small),
    // so a full queue holds between QUEUE / 2 and QUEUE messages (63 measured).
    expect(kept + lateJoins).toBeGreaterThanOrEqual(QUEUE / 2);
    expect(kept + lateJoins).toBeLessThanOrEqual(QUEUE + IN_TRANSIT);
    // Its queue filled once during the flood (it read nothing), maybe again for a marker.
    expect(totals['replicaFull']).toBeGreaterThanOrEqual(1);
    expect(totals['replicaFull']).toBeLessThanOrEqual(1 + markers);
    expect(proxyLogged(proxy, "a replica's queue at the proxy is full")[0]).toMatchObject({
      replicaQueueMaxBytes: QUEUE_BYTES,
      replicaFull: 1,
    });
    // zeromq.js's warning for an option set after bind was muted, not printed per toggle.
    expect(proxy.logs.filter((l) => l.includes('Socket option will not take effect'))).toEqual([]);
  }, 120_000);

  it('refuses a bound under one message at --max-frame-bytes, naming the flag; takes one of exactly that', async () => {
    const args = (bytes: number) => [
      '--max-frame-bytes',
      String(FRAME_CAP),
      '--replica-queue-max-bytes',
      String(bytes),
    ];
    const err = await startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', args(FRAME_CAP - 1)).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/proxy exited with 2/);
    expect(err?.message).toMatch(/--replica-queue-max-bytes must be at least --max-frame-bytes \(262144\)/);
    const proxy = await startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', args(FRAME_CAP));
    cleanups.push(() => proxy.stop('SIGKILL'));
    expect(proxyLogged(proxy, 'statscache proxy running')[0]).toMatchObject({ replicaQueueMaxBytes: FRAME_CAP });
  });
});
