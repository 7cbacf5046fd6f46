import { describe, expect, it } from 'vitest';
import { Subscriber } from 'zeromq';
import { openSockets } from '../../src/bus.js';
import { listensHere, ownListeningPorts, portOf } from '../helpers/own-listener.js';

const hooks = {
  onFrames: () => undefined,
  onMonitor: () => undefined,
  onReceiveError: (err: unknown) => {
    throw err;
  },
  onLoopEnd: () => undefined,
};

/**
 * Closes in a row: one in ten found the port still listening on a box loaded to ~18 before the
 * fix, and a single close on an idle one rarely does (libzmq closes it within microseconds).
 */
const RUNS = 40;

/**
 * zmq_close() hands the socket to libzmq's own threads, which close a listener's port later;
 * `done` settled when the receive loops ended, before that. Service.close() and the bus
 * thread's exit wait for `done`, so an embedder binding the same endpoint again right after
 * (a restart in-process) met EADDRINUSE, the port held by its own process.
 */
describe('openSockets: done after close()', () => {
  it('settles once the bound port is closed: this process no longer listens on it, and it binds again', async () => {
    for (let run = 0; run < RUNS; run++) {
      const sockets = await openSockets({ bind: ['tcp://127.0.0.1:*'], connect: [], topics: [''] }, hooks);
      const endpoint = sockets.bound[0] ?? '';
      const port = portOf(endpoint);
      expect({ run, listening: listensHere(port) }).toEqual({ run, listening: true });
      sockets.close();
      await sockets.done;
      expect({ run, listening: listensHere(port) }).toEqual({ run, listening: false });
      // The restart: the exact endpoint, at once.
      const again = new Subscriber({ linger: 0 });
      const rebound = await again.bind(endpoint).then(
        () => 'bound',
        (err: NodeJS.ErrnoException) => err.code ?? String(err),
      );
      again.close();
      expect({ run, rebound }).toEqual({ run, rebound: 'bound' });
    }
  });

  it('a start refused on a later endpoint has let go of the one it bound before it fails', async () => {
    const taken = new Subscriber({ linger: 0 });
    await taken.bind('tcp://127.0.0.1:*');
    try {
      const before = ownListeningPorts();
      const failed = await openSockets(
        { bind: ['tcp://127.0.0.1:*', taken.lastEndpoint ?? ''], connect: [], topics: [''] },
        hooks,
      ).then(
        () => 'opened',
        (err: { code?: string }) => err.code ?? String(err),
      );
      expect(failed).toBe('SC_BUS_BIND_FAILED');
      expect([...ownListeningPorts()].filter((port) => !before.has(port))).toEqual([]);
    } finally {
      taken.close();
    }
  });
});
