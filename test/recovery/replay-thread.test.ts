import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';
import { Recovery } from '../../src/recovery.js';
import { replayBatches, ReplayThreadError } from '../../src/replay-thread.js';
import { Service } from '../../src/service.js';
import { PROBE_TO } from '../../src/startup-replay.js';
import { recentSamples } from '../helpers/fixtures.js';
import { openJournal } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * Start-up replay reads and prepares journal records on a second thread (replay-worker.ts).
 * Whatever thread reads them, every plugin must end in the same state, every record must be
 * replayed once, and damaged records must be counted and skipped alike.
 */
const dirs: { remove(): void }[] = [];
/** The data dirs every test may read (the shared journal's), removed after the file. */
const kept: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
afterAll(() => kept.splice(0).forEach((d) => d.remove()));
const silent = pino({ level: 'silent' }) as never;
const temp = (prefix: string, list = dirs): string => {
  const d = tempDir(prefix);
  list.push(d);
  return d.path;
};

/** The real samples, journaled in file order, with records 200 and 300 damaged on disk. */
async function damagedJournal() {
  const { dir, store, journal } = openJournal(dirs);
  const envelopes = recentSamples(Math.floor(Date.now() / 1000)) as Envelope[];
  for (const e of envelopes) expect(journal.accept(e)).not.toBeNull();
  await journal.flush();
  const bad = Buffer.from(store.journalRecord(200) as Uint8Array);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01;
  store.putSalvaged('journal', [{ key: 200, value: bad }]);
  store.putSalvaged('journal', [
    { key: 300, value: Buffer.from(store.journalRecord(300) as Uint8Array).subarray(0, 40) },
  ]);
  return { dir, store, journal, envelopes };
}

describe('the replay thread', () => {
  it('hands over what an in-thread read gives: entries, bounds proved, meta, damaged records', async () => {
    const { dir, store, journal } = await damagedJournal();
    const shape = { maxDepth: 32, maxKeys: 10_000 };
    const expected = [...journal.after(0, { remember: false, shape })];
    const corruptInThread = journal.corrupt;
    expect(corruptInThread).toBe(2);
    let truncatedInThread = 0;
    const metas = expected.map((e) => deriveMeta(e.envelope, { maxFanout: 3, onTruncated: () => truncatedInThread++ }));
    expect(truncatedInThread).toBeGreaterThan(0);

    const got = [];
    let batches = 0;
    let corrupt = 0;
    let truncated = 0;
    // Small batches and one in flight: the thread waits for credit many times.
    for await (const batch of replayBatches({ dir, after: 0, shape, maxFanout: 3, batch: 64, maxInFlight: 1 })) {
      batches++;
      corrupt += batch.corrupt;
      truncated += batch.truncated;
      got.push(...batch.entries);
    }
    expect(batches).toBeGreaterThan(5);
    expect(corrupt).toBe(corruptInThread);
    expect(truncated).toBe(truncatedInThread);
    expect(got.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    got.forEach((entry, i) => {
      const want = expected[i];
      expect(entry.id).toBe(want?.id);
      expect(entry.envelope).toEqual(want?.envelope);
      expect(entry.withinShape).toEqual(want?.withinShape);
      expect(entry.meta).toEqual(metas[i]);
    });
    // From the middle: the next seq on.
    const tail = [];
    for await (const batch of replayBatches({ dir, after: 505, shape, maxFanout: 3 })) tail.push(...batch.entries);
    expect(tail.map((e) => e.seq)).toEqual([506, 507, 508, 509, 510]);
    await store.close();
  });

  it('stops when left early, and a later replay still reads everything', async () => {
    const { dir, store } = await damagedJournal();
    let first = 0;
    for await (const batch of replayBatches({ dir, after: 0, shape: undefined, maxFanout: 100, batch: 16 })) {
      first = batch.entries.length;
      break;
    }
    expect(first).toBe(16);
    let all = 0;
    for await (const batch of replayBatches({ dir, after: 0, shape: undefined, maxFanout: 100 }))
      all += batch.entries.length;
    expect(all).toBe(508);
    await store.close();
  });

  it('fails with a ReplayThreadError when it cannot read the data', async () => {
    const missing = temp('statscache-replay-missing-');
    const read = async () => {
      for await (const _ of replayBatches({
        dir: `${missing}/nothing-here`,
        after: 0,
        shape: undefined,
        maxFanout: 1,
      }));
    };
    await expect(read()).rejects.toBeInstanceOf(ReplayThreadError);
  });
});

describe('start-up replay', () => {
  /** A journal of `n` messages (the samples over and over, each its own msg_id), no snapshot. */
  async function journalOf(n: number, list = dirs): Promise<string> {
    const dir = temp('statscache-replay-thread-', list);
    const writer = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }),
      logger: silent,
    });
    const samples = recentSamples(Math.floor(Date.now() / 1000));
    for (let i = 0; i < n; i++) {
      const s = samples[i % samples.length] as Envelope;
      writer.accept({ ...s, msg_id: `replay-thread-${i}` });
    }
    await writer.settled();
    await writer.close();
    return dir;
  }

  /**
   * `worthUs`: the main-thread cost per entry from which the thread takes over, pinned so timing
   * cannot decide; `minEntries`: the entries that must be left (lowered, so a short journal does;
   * null: the service's default).
   */
  async function replayed(dir: string, replayThread: boolean, worthUs = 0, minEntries: number | null = 2048) {
    const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, replayThread, maxFanout: 3 } });
    const service = await Service.build({
      config,
      logger: silent,
      replayThreadWorthUs: worthUs,
      ...(minEntries === null ? {} : { replayThreadMinEntries: minEntries }),
    });
    await service.recover();
    const digests = Object.fromEntries(service.host.runtimes.map((r) => [r.ident, r.digest]));
    const { replayed, replayRejected, fanoutTruncated } = service.counters;
    // What an operator sees in /metrics.
    const metrics = await service.metrics.refresh();
    const onThread = Number(/^statscache_intake_total\{event="replayed_on_thread"\} (\d+)$/m.exec(metrics)?.[1]);
    // Ids replayed on either thread are remembered: the same message again is a duplicate.
    const again = service.accept({
      ...(recentSamples(Math.floor(Date.now() / 1000))[7] as Envelope),
      msg_id: 'replay-thread-7',
    });
    await service.close();
    return { state: { digests, replayed, replayRejected, fanoutTruncated, again }, onThread };
  }

  /**
   * One journal of PROBE_TO + 4,000 messages and its replay on the main thread, made once for the
   * two cases that replay it (a replay leaves the data dir as it found it: the first case replays
   * it four times): building it through a service and replaying it cost ~3 s of CPU each time.
   */
  let shared: Promise<{ n: number; dir: string; inThread: Awaited<ReturnType<typeof replayed>> }> | undefined;
  const sharedJournal = () =>
    (shared ??= (async () => {
      // Past the probe, with more left than the thread's minimum, so the thread takes a share.
      const n = PROBE_TO + 4_000;
      const dir = await journalOf(n, kept);
      return { n, dir, inThread: await replayed(dir, false) };
    })());

  it('ends every plugin in the same state on either thread, each record replayed once', async () => {
    const { n, dir, inThread } = await sharedJournal();
    const threaded = await replayed(dir, true);
    expect(inThread.onThread).toBe(0);
    // The first PROBE_TO are replayed in-thread to time them; the rest go over.
    expect(threaded.onThread).toBe(n - PROBE_TO);
    // Where applying costs less than the thread's own work, all of it stays in-thread.
    const cheap = await replayed(dir, true, Number.POSITIVE_INFINITY);
    expect(cheap.onThread).toBe(0);
    expect(cheap.state).toEqual(inThread.state);
    // With the default minimum (40 k entries left), a replay this short stays in-thread too.
    const short = await replayed(dir, true, 0, null);
    expect(short.onThread).toBe(0);
    expect(short.state).toEqual(inThread.state);
    expect(inThread.state.replayed).toBe(n);
    expect(threaded.state).toEqual(inThread.state);
    expect(threaded.state.again).toBe(false);
    expect(threaded.state.fanoutTruncated).toBeGreaterThan(0);
    expect(Object.keys(threaded.state.digests).length).toBeGreaterThan(20);
  }, 60_000);

  it('goes on in-thread, losing nothing, when the thread fails', async () => {
    const { n, dir, inThread: reference } = await sharedJournal();
    const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, replayThread: false, maxFanout: 3 } });
    const service = await Service.build({ config, logger: silent });
    const warnings: string[] = [];
    const log = { ...pino({ level: 'silent' }), warn: (_: unknown, msg: string) => warnings.push(msg) } as never;
    const recovery = new Recovery({
      intake: service.intake,
      journal: service.journal,
      log,
      datagrepper: null,
      nowSeconds: () => Date.now() / 1000,
      signal: new AbortController().signal,
      clock: systemClock,
      gapIntervalMs: 1000,
      // A directory with no data file: the thread fails before handing anything over.
      replayThread: { dir: temp('statscache-replay-empty-'), maxFanout: 3, worthUs: 0, minEntries: 2048 },
    });
    await recovery.replay(0, false);
    expect(warnings.some((w) => w.includes('replay thread failed'))).toBe(true);
    expect(service.counters.replayed).toBe(n);
    expect(Object.fromEntries(service.host.runtimes.map((r) => [r.ident, r.digest]))).toEqual(reference.state.digests);
    await service.close();
  });
});
