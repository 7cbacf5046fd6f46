import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { listensHere, portOf } from '../helpers/own-listener.js';
import { tempDir } from '../helpers/service-process.js';

/** Live worker threads' ports among the process's active resources: one per thread not yet exited. */
const threadPorts = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

/**
 * Service.close() (tools and embedders that only read) told the bus thread to close and returned
 * without waiting for it, as stop() does: the thread still held its ZeroMQ socket (the bound port
 * in use, 1 run in 5 on a loaded box) and an embedder's process.exit() right after met it
 * open, which zeromq's addon answers by aborting the process ("terminate called after throwing
 * an instance of 'Napi::Error'", SIGABRT: test/helpers/panicked-start.mjs, once in a full run).
 * And the thread's end did not mean the port was free: libzmq closes a listener on its own
 * thread after zmq_close(), and its context outlives the bus thread (bus-release.ts).
 */
describe('Service.close()', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('returns once the bus thread has ended and its bound port is free', async () => {
    const before = threadPorts();
    for (let i = 0; i < 3; i++) {
      const config = loadConfig({
        env: {},
        flags: {
          port: 0,
          host: '127.0.0.1',
          bind: ['tcp://127.0.0.1:*'],
          dataDir: `${dir.path}/d${i}`,
          busThread: true,
        },
      });
      const service = await Service.build({ config, logger: createLogger('silent') });
      await service.start();
      const endpoint = service.subscription?.bound[0] ?? '';
      expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(threadPorts()).toBeGreaterThan(before);
      expect({ run: i, listening: listensHere(portOf(endpoint)) }).toEqual({ run: i, listening: true });
      await service.close();
      expect({ run: i, threads: threadPorts() }).toEqual({ run: i, threads: before });
      // This process's hold, not whether the port binds again: on a shared box another process
      // may take a freed ephemeral port at once (own-listener.ts).
      expect({ run: i, listening: listensHere(portOf(endpoint)) }).toEqual({ run: i, listening: false });
    }
  }, 60_000);
});
