import { setTimeout as tick } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { tempDir } from '../helpers/service-process.js';
import { buildFreezer, freezableService } from '../helpers/zmq-freeze.js';

const SPIN_TOPIC = 'org.fedoraproject.prod.test.spin';
const HUNG = 'the bus thread made no progress';

/**
 * --thread-hang-timeout with --connect: the hung bus thread (made to spin on a topic by
 * STATSCACHE_TEST_BUS_THREAD_SPIN_TOPIC) was ended by terminate() while its --connect socket's
 * monitor read was pending, which aborts the whole process as the thread is torn down
 * ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT, no final snapshot):
 * every such hang. test/recovery/bus-thread-hang.test.ts binds, where nothing is pending. Now it
 * is let go, and serve exits 1 after its final snapshot, leaving it behind.
 */
describe('a bus thread that hangs with --connect', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  // Not to freeze anything: the freezer's child runs as any spawned service, its end reported.
  const runner = buildFreezer(dir.path);

  it('makes serve exit 1 with its final snapshot written, not abort', async () => {
    const pub = new Publisher({ linger: 0 });
    try {
      await pub.bind('tcp://127.0.0.1:*');
      const service = freezableService(
        runner,
        ['--data-dir', `${dir.path}/data`, '--connect', pub.lastEndpoint ?? '', '--thread-hang-timeout', '1'],
        { STATSCACHE_TEST_BUS_THREAD_SPIN_TOPIC: SPIN_TOPIC },
      );
      await service.saw('ready: consuming the bus live');
      const hung = service.saw(HUNG).then(() => true);
      // Sent until it is read (a subscription reaches the publisher some time after the connect).
      while (!(await Promise.race([hung, tick(100).then(() => false)]))) await pub.send([SPIN_TOPIC, '{}']);
      const exit = await service.exit;
      expect({
        ...exit,
        finalSnapshot: service.out().includes('"final snapshot written"'),
        aborted: service.out().includes('terminate called'),
        // What happened to it, said as such: it was let go, never ended, nor stuck in a native call.
        saidLetGo: service.out().includes(`${HUNG} for`) && service.out().includes('stuck, let go'),
        saidUnsafe: /the bus thread could not be ended safely within \d+ s \(a zeromq read still pending/.test(
          service.out(),
        ),
      }).toEqual({
        code: 1,
        signal: 0,
        frozenAtExit: false,
        finalSnapshot: true,
        aborted: false,
        saidLetGo: true,
        saidUnsafe: true,
      });
    } finally {
      pub.close();
    }
  }, 60_000);
});
