/**
 * Journal retention on a quiet bus. Unchanged state writes no new snapshot generation, and the
 * journal drops only what every kept generation covers: after traffic stopped, the records
 * after the oldest generation's position stayed past --journal-max-age for as long as the bus
 * was quiet. A snapshot now writes a generation of the unchanged state when records past
 * retention wait on an older one (at most --snapshot-generations - 1 of them), so the trim
 * goes on; nothing it drops is missing from any generation, and a restart counts every
 * message once. Time is a manual clock: two hours pass without a sleep.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { coveredByAllGenerations } from '../../snapshots/journal-trim.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { expectServedOnce } from '../commands/trimming-data-dir.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { acceptedOnce, type Sample } from '../history/feed.js';

const silent = createLogger('silent');
const GENERATIONS = 3;

const flagsFor = (dataDir: string) => ({
  dataDir,
  port: 0,
  host: '127.0.0.1',
  bind: ['tcp://127.0.0.1:*'],
  snapshotGenerations: GENERATIONS,
  journalMaxAge: '1h',
});

/** Every kept generation's journal position, read from the LMDB file after the service stopped. */
async function coveredOnDisk(dataDir: string): Promise<number> {
  const store = new DataStore(dataDir, { readOnly: true });
  try {
    expect(store.slots()).toHaveLength(GENERATIONS);
    return coveredByAllGenerations(store);
  } finally {
    await store.close();
  }
}

/** A restart restores the newest generation and counts each message once. */
async function expectRestartCountsOnce(dataDir: string, samples: readonly Sample[]): Promise<void> {
  const again = await Service.build({
    config: loadConfig({ env: {}, flags: flagsFor(dataDir) }),
    logger: silent,
    checkDataFile: false,
  });
  try {
    await again.start();
    await expectServedOnce(again, acceptedOnce(samples));
  } finally {
    await again.close();
  }
}

/**
 * A service on `dataDir` fed `samples` in three batches, a snapshot after each: three generations
 * at three journal positions, the oldest covering the first batch only. Returns the service and
 * each snapshot's journal position.
 */
async function snapshotInThirds(dataDir: string, clock: ManualClock, samples: readonly Sample[]) {
  const third = Math.ceil(samples.length / 3);
  const batches = [samples.slice(0, third), samples.slice(third, 2 * third), samples.slice(2 * third)];
  const service = await Service.build({
    config: loadConfig({ env: {}, flags: flagsFor(dataDir) }),
    logger: silent,
    clock,
    checkDataFile: false,
  });
  await service.recover();
  const written: number[] = [];
  for (const batch of batches) {
    for (const m of batch) service.accept(m as never);
    await service.settled();
    written.push((await service.snapshot()).journalSeq);
  }
  return { service, written };
}

describe('journal retention while the bus is quiet', () => {
  const data = tempDir();
  const young = tempDir();
  afterAll(() => {
    data.remove();
    young.remove();
  });

  it('trims records past --journal-max-age that only older generations held back, and loses none', async () => {
    const clock = new ManualClock(Date.now());
    const samples = recentSamples(Math.floor(clock.now() / 1000) - 10) as Sample[];
    // Three generations at three positions: the oldest covers the first batch only.
    const { service, written } = await snapshotInThirds(data.path, clock, samples);
    const position = service.journal.position;
    expect(written[0]).toBeLessThan(position);
    expect(written[2]).toBe(position);
    const newest = (await service.snapshot()).generation;
    // Within retention, a quiet bus writes nothing more and the journal keeps everything.
    expect((await service.snapshot()).generation).toBe(newest);
    expect(service.journal.firstRetained).toBe(1);

    clock.advance(2 * 3600 * 1000);
    const after: { generation: number; journalSeq: number; firstRetained: number }[] = [];
    for (let i = 0; i < GENERATIONS + 1; i++) {
      const r = await service.snapshot();
      after.push({ generation: r.generation, journalSeq: r.journalSeq, firstRetained: service.journal.firstRetained });
    }
    // Two generations of the same state (the slots that held older positions), then nothing more to write.
    expect(after.map((a) => a.generation)).toEqual([newest + 1, newest + 2, newest + 2, newest + 2]);
    expect(after.every((a) => a.journalSeq === position)).toBe(true);
    // Every record is past --journal-max-age and covered by every generation: all trimmed.
    expect(after.at(-1)?.firstRetained).toBe(0);
    await service.stop();
    expect(await coveredOnDisk(data.path)).toBe(position);
    // Nothing lost.
    await expectRestartCountsOnce(data.path, samples);
  }, 90_000);

  it('writes no generation while a younger record the trim must keep stops it before what the write would free', async () => {
    const clock = new ManualClock(Date.now());
    const t = Math.floor(clock.now() / 1000);
    // Dated ten to nineteen minutes ago, except one record of the first batch, dated now: once
    // 55 minutes have passed, all but it are past --journal-max-age (1h).
    const samples = recentSamples(t - 600) as Sample[];
    const third = Math.ceil(samples.length / 3);
    const youngAt = third - 1;
    samples[youngAt] = { ...(samples[youngAt] as Sample), timestamp: t };
    const { service, written: ends } = await snapshotInThirds(young.path, clock, samples);
    const position = service.journal.position;
    const newest = (await service.snapshot()).generation;
    // The young record is the first batch's last: every generation covers it.
    const youngSeq = ends[0] as number;

    /** GENERATIONS + 1 snapshots of the unchanged state: the generation each left newest and the journal's first record after it. */
    const quietSnapshots = async () => {
      const seen: { generation: number; firstRetained: number }[] = [];
      for (let i = 0; i < GENERATIONS + 1; i++) {
        const r = await service.snapshot();
        seen.push({ generation: r.generation, firstRetained: service.journal.firstRetained });
      }
      return seen;
    };

    clock.advance(55 * 60 * 1000);
    // Every record but the young one is past retention, and the trim keeps a prefix: it stops at
    // the young record whatever the generations cover, so a generation written now frees nothing.
    // (It used to read only the first record an older generation lacks, and wrote
    // GENERATIONS - 1 generations of the same state for nothing.)
    const whileYoung = await quietSnapshots();
    expect(whileYoung.map((a) => a.generation)).toEqual(Array(GENERATIONS + 1).fill(newest));
    // What the oldest generation covered before the young record went.
    expect(whileYoung.map((a) => a.firstRetained)).toEqual(Array(GENERATIONS + 1).fill(youngSeq));

    // Once it too is past retention, each generation written frees records, until all are gone.
    clock.advance(10 * 60 * 1000);
    const afterwards = await quietSnapshots();
    expect(afterwards.map((a) => a.generation)).toEqual([newest + 1, newest + 2, newest + 2, newest + 2]);
    expect((afterwards[0] as { firstRetained: number }).firstRetained).toBeGreaterThan(youngSeq);
    expect(afterwards.at(-1)?.firstRetained).toBe(0);
    await service.stop();
    expect(await coveredOnDisk(young.path)).toBe(position);
    await expectRestartCountsOnce(young.path, samples);
  }, 90_000);
});
