import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/service-process.js';
import { buildFreezer, freezableService } from '../helpers/zmq-freeze.js';

/** Stops per setup: before the fix every one of them aborted (4 of 4, 9 of 9 by hand). */
const RUNS = 2;
const LIBZMQ_THREADS = 2;

/**
 * A stop with libzmq's threads given no CPU (zmq-freeze.c stops them, as starvation all but
 * does): libzmq never says MONITOR_STOPPED, so the bus thread's monitors kept reading, the thread
 * outlived the main thread's 2 s wait, was ended by terminate(), and the pending read aborted the
 * process as the thread was torn down ("terminate called after throwing an instance of
 * 'Napi::Error'", SIGABRT) before the final snapshot. --connect sockets read their monitors from
 * the start, --bind ones from the monitor made just before close() (bus-release.ts). Now the
 * thread closes them itself once its release wait is over, and ends.
 */
describe('a stop while libzmq gets no CPU (bus thread)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const freezer = buildFreezer(dir.path);

  for (const setup of ['bind', 'connect'] as const) {
    it(`--${setup}: exits 0 with the final snapshot written, libzmq still stopped`, async () => {
      const outcomes: unknown[] = [];
      for (let run = 0; run < RUNS; run++) {
        const endpoint = setup === 'bind' ? 'tcp://127.0.0.1:*' : `tcp://127.0.0.1:${await freePort()}`;
        const service = freezableService(freezer, [
          '--data-dir',
          `${dir.path}/${setup}-${run}`,
          '--bus-thread',
          'true',
          `--${setup}`,
          endpoint,
        ]);
        await service.saw('ready: consuming the bus live');
        // Its I/O thread and its reaper (one context, one I/O thread: libzmq's default).
        expect(await service.freeze(LIBZMQ_THREADS), service.reports()).toBe(LIBZMQ_THREADS);
        process.kill(await service.pid(), 'SIGTERM');
        const exit = await service.exit;
        outcomes.push({ run, ...exit, finalSnapshot: service.out().includes('"final snapshot written"') });
      }
      expect(outcomes).toEqual(
        Array.from({ length: RUNS }, (_, run) => ({
          run,
          code: 0,
          signal: 0,
          frozenAtExit: true,
          finalSnapshot: true,
        })),
      );
    }, 60_000);
  }
});
