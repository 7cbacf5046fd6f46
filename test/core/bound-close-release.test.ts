import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type BusProxy, publisher, startProxy } from '../../src/bus.js';
import { listensHere, portOf } from '../helpers/own-listener.js';

/**
 * Closes in a row, as in bus-close-release.test.ts: a single close on an idle box rarely finds
 * the port still held (libzmq closes it within microseconds), one in a few dozen does under load.
 */
const RUNS = 40;

/** What a start on `endpoint` came to: the error's code when it failed. */
const outcome = <T>(start: Promise<T>): Promise<T | string> =>
  start.catch((err: NodeJS.ErrnoException) => err.code ?? String(err));

/**
 * With --replica-max-connections the proxy also binds its ZAP handler at libzmq's one inproc
 * address, which a restart in this process binds again as well. Nothing listens upstream: the
 * proxy keeps trying to connect, which its close ends.
 */
const proxyOn = (backend: string) =>
  outcome(startProxy({ frontend: 'tcp://127.0.0.1:1', backend, maxFrameBytes: 1024, replicaMaxConnections: 4 }));

async function stopped(proxy: BusProxy): Promise<void> {
  proxy.close();
  await proxy.done;
}

/**
 * zmq_close() hands the socket to libzmq's own threads, which close a listener's port (and
 * take an inproc address off the context) later. Stopping the proxy or the publisher and
 * starting it again on the same endpoints in this process (an embedder's restart, a test's)
 * met EADDRINUSE from its own sockets.
 */
describe('closing the bound sockets of the proxy and the publisher', () => {
  it("the proxy's done settles once its backend port and ZAP address are let go: a restart on them starts", async () => {
    for (let run = 0; run < RUNS; run++) {
      const proxy = await proxyOn('tcp://127.0.0.1:*');
      if (typeof proxy === 'string') throw new Error(`run ${run}: the proxy did not start: ${proxy}`);
      const port = portOf(proxy.backend);
      expect({ run, listening: listensHere(port) }).toEqual({ run, listening: true });
      await stopped(proxy);
      const listening = listensHere(port);
      // The restart: the exact backend endpoint, and the ZAP address, at once.
      const again = await proxyOn(proxy.backend);
      const restarted = typeof again === 'string' ? again : 'started';
      if (typeof again !== 'string') await stopped(again);
      expect({ run, listening, restarted }).toEqual({ run, listening: false, restarted: 'started' });
    }
  });

  it('a proxy start refused at its backend has let go of the ZAP address it bound: the next start takes it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const busy = `tcp://127.0.0.1:${(taken.address() as { port: number }).port}`;
      for (let run = 0; run < RUNS; run++) {
        const refused = await proxyOn(busy);
        if (typeof refused !== 'string') await stopped(refused);
        const next = await proxyOn('tcp://127.0.0.1:*');
        if (typeof next !== 'string') await stopped(next);
        // Refused as EADDRINUSE, or now and then EAGAIN (libzmq's errno after its bind-failed event).
        const outcomes = { refused: typeof refused === 'string', next: typeof next === 'string' ? next : 'started' };
        expect({ run, ...outcomes }).toEqual({ run, refused: true, next: 'started' });
      }
    } finally {
      taken.close();
    }
  });

  it("the publisher's close() settles once its bound port is let go: it binds there again", async () => {
    for (let run = 0; run < RUNS; run++) {
      const pub = await publisher({ bind: 'tcp://127.0.0.1:*' });
      const endpoint = pub.bound[0] ?? '';
      const port = portOf(endpoint);
      expect({ run, listening: listensHere(port) }).toEqual({ run, listening: true });
      await pub.close();
      const listening = listensHere(port);
      const again = await outcome(publisher({ bind: endpoint }));
      const rebound = typeof again === 'string' ? again : 'bound';
      if (typeof again !== 'string') await again.close();
      expect({ run, listening, rebound }).toEqual({ run, listening: false, rebound: 'bound' });
    }
  });
});
