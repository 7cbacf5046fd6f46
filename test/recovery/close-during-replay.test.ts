/**
 * Service.close() (tools and embedders) while recover() replays the journal at start-up. It
 * aborted the replay but did not wait for it, as it waited for the bus thread (af84ad0): it
 * returned with the replay thread still reading the data file, its store closed and the data
 * dir's lock let go; and an in-thread replay read on from the closed store, so recover() (and
 * start()) rejected with MDB_BAD_TXN. Real LMDB journal, real worker thread.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { Service } from '../../src/service.js';
import { PROBE_TO } from '../../src/startup-replay.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

const silent = pino({ level: 'silent' }) as never;
/** Past the probe, with more left than the thread's (lowered) minimum: the thread takes over. */
const N = PROBE_TO + 4096;

const build = (dir: string, replayThread: boolean) =>
  Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0, replayThread } }),
    logger: silent,
    replayThreadWorthUs: 0,
    replayThreadMinEntries: 2048,
  });

/** What recover() came to, and what a service opened on the same data dir afterwards replays. */
async function closedDuring(dir: string, recovering: Promise<void>) {
  const outcome = await recovering.then(
    () => 'resolved',
    (err: unknown) => String(err),
  );
  const again = await build(dir, false);
  await again.recover();
  const replayed = again.counters.replayed;
  await again.close();
  return { outcome, replayed };
}

describe('Service.close() during start-up replay', () => {
  const dir = tempDir('statscache-close-replay-');
  afterAll(() => dir.remove());

  // A journal and no snapshot (close() writes none, so every service here replays it all).
  beforeAll(async () => {
    const writer = await build(dir.path, false);
    const samples = recentSamples(Math.floor(Date.now() / 1000));
    for (let i = 0; i < N; i++) writer.accept({ ...(samples[i % samples.length] as Envelope), msg_id: `close-${i}` });
    await writer.settled();
    await writer.close();
  }, 60_000);

  it('returns once the replay thread has exited; the data dir opens again and replays it all', async () => {
    const service = await build(dir.path, true);
    const created = new Promise<Worker>((resolve) => process.once('worker', resolve));
    const recovering = service.recover();
    const worker = await created;
    let exited = false;
    worker.once('exit', () => (exited = true));
    await service.close();
    expect(exited).toBe(true);
    expect(await closedDuring(dir.path, recovering)).toEqual({ outcome: 'resolved', replayed: N });
  }, 60_000);

  it('stops an in-thread replay before the store closes: recover() resolves', async () => {
    const service = await build(dir.path, false);
    const recovering = service.recover();
    // Turns of the event loop, not time: the replay yields every ~50 ms of work.
    while (service.counters.replayed === 0) await nextTurn();
    await service.close();
    expect(service.counters.replayed).toBeLessThan(N);
    expect(await closedDuring(dir.path, recovering)).toEqual({ outcome: 'resolved', replayed: N });
  }, 60_000);
});
