import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { replayBatches, ReplayThreadError } from '../../src/replay-thread.js';
import { Service } from '../../src/service.js';
import { PROBE_TO } from '../../src/startup-replay.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * --thread-hang-timeout for the replay thread: a thread stuck in synchronous code (made to spin
 * at one record by STATSCACHE_TEST_REPLAY_THREAD_SPIN_AT, which the worker reads as it starts)
 * is ended and the rest replayed on the main thread; before, start-up stayed `replaying` for
 * good with /healthz 200. A thread that waits on a slow consumer is no hang.
 */
const SPIN = 'STATSCACHE_TEST_REPLAY_THREAD_SPIN_AT';
/** Spins before the thread's first beat, as one stuck loading its modules would. */
const LOAD_SPIN = 'STATSCACHE_TEST_REPLAY_THREAD_LOAD_SPIN';
const dirs: { remove(): void }[] = [];
/** The data dirs every test may read (sharedJournal's), removed after the file. */
const kept: { remove(): void }[] = [];
afterEach(() => {
  delete process.env[SPIN];
  delete process.env[LOAD_SPIN];
  for (const d of dirs.splice(0)) d.remove();
});
afterAll(() => {
  for (const d of kept.splice(0)) d.remove();
});
const silent = pino({ level: 'silent' }) as never;

/** A journal of `n` messages (the samples over and over, each its own msg_id), no snapshot. */
async function journalOf(n: number, list = dirs): Promise<string> {
  const dir = tempDir('statscache-replay-hang-');
  list.push(dir);
  const writer = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0 } }),
    logger: silent,
  });
  const samples = recentSamples(Math.floor(Date.now() / 1000));
  for (let i = 0; i < n; i++) writer.accept({ ...(samples[i % samples.length] as Envelope), msg_id: `hang-${i}` });
  await writer.settled();
  await writer.close();
  return dir.path;
}

/** Replays `dir` with the thread taking over after the probe; the state and what /metrics says. */
async function replay(dir: string, replayThread: boolean, flags: Record<string, unknown> = {}) {
  const config = loadConfig({
    env: {},
    flags: { dataDir: dir, port: 0, replayThread, maxFanout: 3, threadHangTimeout: 1, ...flags },
  });
  const service = await Service.build({
    config,
    logger: silent,
    replayThreadWorthUs: 0,
    replayThreadMinEntries: 2048,
  });
  await service.recover();
  const digests = Object.fromEntries(service.host.runtimes.map((r) => [r.ident, r.digest]));
  const metrics = await service.metrics.refresh();
  const series = (event: string) =>
    Number(new RegExp(`^statscache_intake_total\\{event="${event}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  const replayed = service.counters.replayed;
  await service.close();
  return { digests, replayed, hangs: series('replay_thread_hangs'), onThread: series('replayed_on_thread') };
}

/**
 * One journal of PROBE_TO + 6,000 messages and its replay on the main thread, made once for the
 * two cases that replay it (a replay leaves the data dir as it found it: no snapshot is written):
 * building it through a service and replaying it cost ~3 s of CPU each time.
 */
let shared: Promise<{ n: number; dir: string; reference: Awaited<ReturnType<typeof replay>> }> | undefined;
const sharedJournal = () =>
  (shared ??= (async () => {
    const n = PROBE_TO + 6_000;
    const dir = await journalOf(n, kept);
    return { n, dir, reference: await replay(dir, false) };
  })());

describe('a replay thread that hangs (--thread-hang-timeout)', () => {
  it('is ended, and start-up replays the rest on the main thread, losing nothing', async () => {
    const { n, dir, reference } = await sharedJournal();
    expect(reference.replayed).toBe(n);
    // Past the first batches the thread hands over (1024 records each), so some came from it.
    process.env[SPIN] = String(PROBE_TO + 3_000);
    const hung = await replay(dir, true);
    expect(hung.hangs).toBe(1);
    expect(hung.onThread).toBeGreaterThan(0);
    expect(hung.onThread).toBeLessThan(n - PROBE_TO);
    expect(hung.replayed).toBe(n);
    expect(hung.digests).toEqual(reference.digests);
  }, 60_000);

  it('one stuck loading its modules is ended within --thread-start-timeout, and start-up replays all on the main thread', async () => {
    const { n, dir, reference } = await sharedJournal();
    process.env[LOAD_SPIN] = '1';
    // Before, the thread never beat, so it was never watched: recover() never returned.
    const hung = await replay(dir, true, { threadStartTimeout: 1 });
    expect(hung.hangs).toBe(1);
    expect(hung.onThread).toBe(0);
    expect(hung.replayed).toBe(n);
    expect(hung.digests).toEqual(reference.digests);

    // The error says which stage and which bound; the hang timeout (30 s) is not what caught it.
    const err = await (async () => {
      for await (const _ of replayBatches({
        dir,
        after: 0,
        shape: undefined,
        maxFanout: 3,
        hangTimeoutMs: 30_000,
        startTimeoutMs: 1000,
      }));
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReplayThreadError);
    expect((err as ReplayThreadError).hung).toBe(true);
    expect((err as Error).message).toMatch(
      /^replay thread gave no sign of life for \d+ s after it was created, loading its modules \(--thread-start-timeout 1 s\): ended$/,
    );
  }, 60_000);

  it('a thread waiting on a consumer slower than the timeout is no hang; one that spins is', async () => {
    const dir = await journalOf(3_000);
    // One batch in flight: the thread waits for each ack while the consumer takes its time.
    // A second's timeout: ten beats of slack for a loaded machine's late timers.
    let waited = 0;
    let seqs = 0;
    for await (const batch of replayBatches({
      dir,
      after: 0,
      shape: undefined,
      maxFanout: 3,
      batch: 1500,
      maxInFlight: 1,
      hangTimeoutMs: 1000,
    })) {
      seqs += batch.entries.length;
      // Two and a half timeouts per batch, yielding: the thread is idle, not stuck.
      const until = performance.now() + 2500;
      while (performance.now() < until) await new Promise((r) => setTimeout(r, 50));
      waited++;
    }
    expect(waited).toBe(2);
    expect(seqs).toBe(3_000);

    process.env[SPIN] = '1500';
    const got: number[] = [];
    const read = async () => {
      for await (const batch of replayBatches({
        dir,
        after: 0,
        shape: undefined,
        maxFanout: 3,
        batch: 256,
        hangTimeoutMs: 1000,
      }))
        got.push(...batch.entries.map((e) => e.seq));
    };
    const err = await read().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReplayThreadError);
    expect((err as ReplayThreadError).hung).toBe(true);
    expect((err as Error).message).toMatch(/replay thread made no progress for \d+ s \(--thread-hang-timeout 1 s\)/);
    // What it handed over before the stuck record is good, in order, up to a batch boundary.
    expect(got).toEqual(Array.from({ length: 1280 }, (_, i) => i + 1));
  }, 60_000);
});
