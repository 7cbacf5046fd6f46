import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, Router, Subscriber } from 'zeromq';
import { openSockets, REFUSED_GRACE_MS, reconnectAfterRefusal, refusedRetryDelay } from '../../src/bus.js';
import { eventually } from '../helpers/service-process.js';

/**
 * reconnectAfterRefusal connected a refused socket again exactly REFUSED_GRACE_MS after its
 * disconnect, so sockets refused at the same moment came back at the same moment, every time.
 * A statscache proxy at --replica-max-connections judges connections that arrive together
 * against each other (it counts every connection open, those still in their handshake
 * included): two replicas refused together were refused together again a second later, round
 * after round, while a place stood free (proxy-replica-cap: 1 to 12 s of it, past 15 s on an
 * idle machine). The publisher here admits a newcomer only when it comes alone: ZAP requests are
 * answered in batches, BATCH_MS after the first of a batch, 200 to a batch of one and 400 to
 * each of a larger one.
 */
const BATCH_MS = 200;
/** Where libzmq asks a ZAP handler in the same context (ZMQ RFC 27). */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A ZAP handler socket bound where libzmq asks. The previous test's is closed when it ends, but
 * libzmq releases an inproc name on its own thread: bound again at once, it may still be taken.
 * Closed, not unbound first: an inproc unbind tears down the pipes of the ZAP requests in flight
 * while the close tears them down again, and libzmq 4.3.5 aborted the test process on that once
 * (pipe.cpp:355, `_state == term_ack_sent || _state == term_req_sent2`; the service never
 * unbinds its ZAP handler).
 */
async function zapRouter(): Promise<Router> {
  const zap = new Router({ linger: 0 });
  cleanups.push(() => zap.close());
  await eventually(
    async () => {
      try {
        await zap.bind(ZAP_ENDPOINT);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'EADDRINUSE') return undefined;
        throw err;
      }
    },
    5_000,
    'the ZAP endpoint free',
  );
  return zap;
}

/** A ZAP handler admitting a connection only when no other asked in the same batch. */
async function batchingZapHandler() {
  const zap = await zapRouter();
  const batchSizes: number[] = [];
  let batch: Buffer[][] = [];
  // zeromq.js allows one send in flight per socket.
  let sending: Promise<void> = Promise.resolve();
  const answer = () => {
    const asked = batch;
    batch = [];
    batchSizes.push(asked.length);
    for (const [id, empty, version, requestId] of asked) {
      const admit = asked.length === 1;
      const reply = [id, empty, version, requestId, admit ? '200' : '400', admit ? 'OK' : 'arrived together', '', ''];
      sending = sending.then(() => zap.send(reply as (Buffer | string)[])).catch(() => {});
    }
  };
  void (async () => {
    for await (const frames of zap) {
      batch.push(frames);
      if (batch.length === 1) setTimeout(answer, BATCH_MS);
    }
  })().catch(() => {});
  return { batchSizes };
}

describe('a socket refused by its publisher connects again after 1 to 2 s, at random', () => {
  it('the wait is REFUSED_GRACE_MS plus a random share of it, up to as much again', () => {
    expect(refusedRetryDelay(() => 0)).toBe(REFUSED_GRACE_MS);
    expect(refusedRetryDelay(() => 0.5)).toBe(REFUSED_GRACE_MS * 1.5);
    expect(refusedRetryDelay(() => 0.9999)).toBeLessThan(2 * REFUSED_GRACE_MS);
    for (let i = 0; i < 1000; i++) {
      const wait = refusedRetryDelay();
      expect(wait).toBeGreaterThanOrEqual(REFUSED_GRACE_MS);
      expect(wait).toBeLessThan(2 * REFUSED_GRACE_MS);
    }
  });

  it('two sockets refused together do not come back together: each gets in alone', async () => {
    const { batchSizes } = await batchingZapHandler();
    const pub = new Publisher({ linger: 0, zapDomain: 'statscache-test', zapEnforceDomain: true });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const endpoint = pub.lastEndpoint as string;

    // The random share each socket draws: apart by more than a batch.
    const draws = [0, 0.5];
    const refusals = [0, 0];
    const handshakes = [0, 0];
    const subs = draws.map((draw, i) => {
      // libzmq's own reconnect interval as statscache serve sets it.
      const sub = new Subscriber({ linger: 0, reconnectInterval: 100, receiveTimeout: 100 });
      sub.events.on('handshake:error:auth', () => {
        refusals[i] = (refusals[i] ?? 0) + 1;
      });
      sub.events.on('handshake', () => {
        handshakes[i] = (handshakes[i] ?? 0) + 1;
      });
      const cancel = reconnectAfterRefusal(
        sub,
        endpoint,
        () => sub.closed,
        () => {},
        () => draw,
      );
      cleanups.push(() => sub.close());
      cleanups.push(cancel);
      sub.subscribe('');
      return sub;
    });
    // Connected in the same tick: they arrive together and are refused together.
    for (const sub of subs) sub.connect(endpoint);

    await eventually(() => (handshakes.every((n) => n > 0) ? true : undefined), 10_000, 'both let in').catch(
      (err: Error) => {
        throw new Error(`${err.message}; refusals ${refusals}, batches answered ${batchSizes}`);
      },
    );
    expect(refusals).toEqual([1, 1]);
    expect(batchSizes.slice(0, 3)).toEqual([2, 1, 1]);
    // Let in for real: a message published now reaches both.
    for (const sub of subs)
      await eventually(async () => {
        await pub.send(['after', '{}']);
        try {
          return String((await sub.receive())[0]) === 'after' ? true : undefined;
        } catch {
          return undefined;
        }
      });
  }, 20_000);

  it('a --connect socket opened without a frame size limit is connected again after a refusal too', async () => {
    // Refuses the first handshake, admits the rest.
    const zap = await zapRouter();
    let asked = 0;
    void (async () => {
      for await (const [id, empty, version, requestId] of zap) {
        const admit = asked++ > 0;
        await zap.send([id, empty, version, requestId, admit ? '200' : '400', admit ? 'OK' : 'not yet', '', ''] as (
          | Buffer
          | string
        )[]);
      }
    })().catch(() => {});
    const pub = new Publisher({ linger: 0, zapDomain: 'statscache-test', zapEnforceDomain: true });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const endpoint = pub.lastEndpoint as string;
    const received: string[] = [];
    const errors: string[] = [];
    const opened = await openSockets(
      { connect: [endpoint], bind: [], topics: [''] },
      {
        onFrames: (frames) => {
          received.push(String(frames[0]));
        },
        onMonitor: () => {},
        onReceiveError: (err) => errors.push((err as Error).message),
        onLoopEnd: () => {},
      },
    );
    cleanups.push(() => opened.close());
    // Before: no maxMessageBytes, no retry: refused once, the socket never connected again.
    await eventually(
      async () => {
        await pub.send(['after', '{}']);
        return received.includes('after') ? true : undefined;
      },
      10_000,
      'a message after the refusal',
    );
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([expect.stringMatching(/refused this connection in its handshake \(ZAP/)]);
  }, 20_000);
});
