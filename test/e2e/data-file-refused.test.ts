import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { busFixture } from '../helpers/bus-fixture.js';
import { immutableFiles, immutableSupported, setImmutable } from '../helpers/immutable-file.js';
import { type LmdbEnd, retryingLmdbEnds, unlessLmdbEnded } from '../helpers/lmdb-abort.js';
import { metricOf, metricsText, sampleOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService } from '../helpers/service-process.js';

/**
 * The data file refuses every write for a while (made immutable: EPERM, as a file system
 * remounted read-only after an I/O error refuses them with EROFS), then takes them again.
 * lmdb-js settled the snapshot written meanwhile neither way: the snapshot cycle waited on it
 * for good, so once the file took writes again the journal recovered but no generation was
 * ever written (generation 0 twenty seconds on, /readyz 503 "snapshot write pending" from
 * --disk-hang-timeout on, until a restart), and SIGTERM waited out --stop-timeout (20 s) and
 * exited 1 without its final snapshot.
 */
const ATTEMPTS = 8;

/** Whether messages are sent once the file takes writes again ('quiet': none, as on a quiet bus). */
type Traffic = 'sends' | 'quiet';

describe('a data file that refuses writes while serving, then takes them again', () => {
  const { dir, pub, use } = busFixture();
  const { supported, track } = immutableFiles(dir.path);

  /**
   * One run on a fresh data dir; an LmdbEnd (helpers/lmdb-abort.ts) when the process ended on a
   * known outcome of a refused write before what this test checks could be reached: lmdb-js's
   * own heap overrun on a failed page write (SIGABRT, 'corrupted size vs. prev_size' or
   * 'malloc(): …', about 1 run in 5 on a loaded machine, while writes were refused or after
   * the file took them again: CI of 2fdfb2e saw it at a read just after), or chattr landing
   * mid-commit (MDB_PANIC: the service stops with SC_DATA_FILE_PANIC, exit 1; about 1 run in 6
   * while messages flowed as the file was made immutable). Both are made rarer here: the file
   * is made immutable while no write is under way (everything sent journaled, applied and in a
   * generation), and while it refuses, messages are sent only until a journal write has
   * failed: each refused write is a chance of the overrun.
   */
  async function run(attempt: number, traffic: Traffic): Promise<'done' | LmdbEnd> {
    const dataDir = join(dir.path, `${traffic}-attempt-${attempt}`);
    const file = join(dataDir, 'statscache.lmdb');
    // Each refused write is found by a probe queued behind it (--write-probe-after): at the
    // default 2 s, the refusals and then the held records written took 4 to 6 s of each run.
    const args = [
      '--connect',
      pub.lastEndpoint as string,
      '--data-dir',
      dataDir,
      '--snapshot-interval',
      '0.5',
      '--write-probe-after',
      '0.2',
    ];
    const s = use(await startService(args));
    await waitReady(s);
    track(file);
    const gone = () => s.child.exitCode !== null || s.child.signalCode !== null;
    const exited = () => new Error('the service exited');
    return unlessLmdbEnded(s, async () => {
      const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
      let sent = 0;
      const send = async (n: number) => {
        for (let i = 0; i < n; i++, sent++) {
          const m = samples[sent % samples.length] as Record<string, unknown>;
          await pub.send([
            String(m['topic']),
            JSON.stringify({ ...m, msg_id: `2026-refused-${traffic}-${attempt}-${sent}` }),
          ]);
        }
      };
      const generation = () => metricOf(s.base, 'statscache_snapshot_generation');
      await eventually(async () => {
        await send(10);
        return (await generation()) > 0 || undefined;
      });
      // Quiet before the file refuses, so no commit is under way when it does: every message
      // journaled and applied; then one more, a generation written after it, and a cycle that
      // found nothing to write (a snapshot's duration 0: the state unchanged since the last
      // generation, which so covers all). Nothing else writes meanwhile.
      const appliedAll = async () => {
        const text = await metricsText(s.base);
        const applied = sampleOf(text, 'statscache_journal_applied_seq');
        return applied > 0 && applied === sampleOf(text, 'statscache_journal_last_seq') ? applied : undefined;
      };
      const applied = await eventually(appliedAll);
      // Read before the message: a generation past it is written after the message changed the state.
      const before = await generation();
      await send(1);
      await eventually(async () => ((await appliedAll()) ?? 0) > applied || undefined);
      await eventually(async () => (await generation()) > before || undefined);
      await eventually(async () =>
        (await metricOf(s.base, 'statscache_snapshot_duration_seconds')) === 0 ? true : undefined,
      );

      setImmutable(file, true);
      try {
        const refused = await eventually(
          async () => {
            // Ended (lmdb-js's abort, the mid-commit panic): said at once, not after the wait.
            if (gone()) return 'gone' as const;
            const ready = (await getJson(`${s.base}/readyz`)).body as Record<string, unknown>;
            const degraded = String(ready['degraded']);
            // A message or two: its journal write fails, and the state it changed makes the next snapshot's.
            if (!/journal writes failing/.test(degraded)) await send(1);
            return /journal writes failing/.test(degraded) && /snapshots failing/.test(degraded) ? true : undefined;
          },
          30_000,
          'journal writes and snapshots both reported failing',
        );
        if (refused === 'gone') throw exited();
        expect(await metricOf(s.base, 'statscache_snapshot_failures_total')).toBeGreaterThan(0);
      } finally {
        setImmutable(file, false);
      }

      // 'sends': messages again (the file takes them now). 'quiet': none at all (a quiet bus, as
      // Fedora's often is for minutes): the held records, the next generation and /readyz must
      // not wait on traffic. What was last seen is thrown, so a timeout names it.
      const refusedAt = await generation();
      const recovered = await eventually(
        async () => {
          if (gone()) return 'gone' as const;
          if (traffic === 'sends') await send(5);
          const held = await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"');
          const now = await generation();
          const ready = await getJson(`${s.base}/readyz`);
          const degraded = String((ready.body as Record<string, unknown>)['degraded']);
          if (held === 0 && now > refusedAt && !/journal writes|snapshot/.test(degraded)) return true;
          throw new Error(
            `held ${held}, generation ${now} (${refusedAt} when refused), /readyz ${ready.status} ${degraded}`,
          );
        },
        30_000,
        'held records written, a new generation and no disk reason in /readyz after the file takes writes again',
      );
      if (recovered === 'gone') throw exited();
      const ready = await getJson(`${s.base}/readyz`);
      expect(ready.status).toBe(200);
      // Under load other reasons may be there (intake behind); none about the disk.
      expect(String((ready.body as Record<string, unknown>)['degraded'])).not.toMatch(/journal writes|snapshot/);

      expect(await s.stop('SIGTERM')).toBe(0);
      expect(s.logs.some((l) => l.includes('"msg":"final snapshot written"'))).toBe(true);
      expect(s.logs.some((l) => l.includes('graceful stop took too long'))).toBe(false);
      return 'done' as const;
    });
  }

  /**
   * Up to ATTEMPTS runs, each on a fresh data dir: lmdb-js's abort ended 14 of 33 runs on a
   * loaded 2-core box (two such files at once), the mid-commit panic none since the file refuses
   * only while no write is under way: 8 ends in a row (~1 in 1,000 at that rate) is a failure,
   * not a skip, so a change that makes either the rule is seen, each run's cause named.
   */
  async function runUntilDone(traffic: Traffic): Promise<void> {
    // Bound once, by whichever test runs first (either may run alone).
    if (pub.lastEndpoint === null) await pub.bind('tcp://127.0.0.1:*');
    // lmdb-js's abort ended 14 of 33 runs on a loaded 2-core box (two such files at once), the
    // mid-commit panic none since the file refuses only while no write is under way: 8 ends
    // in a row (~1 in 1,000 at that rate) is a failure, not a skip, so a change that makes
    // either the rule is seen, each run's cause named.
    await retryingLmdbEnds(ATTEMPTS, (attempt) => run(attempt, traffic));
  }

  it.skipIf(!supported)(
    'reports the failed snapshots, writes generations again, and stops cleanly',
    async () => {
      await runUntilDone('sends');
    },
    480_000,
  );

  it.skipIf(!supported)(
    'on a quiet bus, writes the held records and a generation and clears /readyz with no message sent',
    async () => {
      await runUntilDone('quiet');
    },
    480_000,
  );
});

/**
 * The data dir made unwritable while serving (immutable here; a `chmod a-w` for a service not run
 * as root): the data file still takes writes, so the final snapshot is written, but the pid file
 * cannot be removed. That threw: 'stop failed' after 'final snapshot written', exit 1, which a
 * supervisor takes for a crash.
 */
describe('a data dir made unwritable while serving', () => {
  const { dir, use } = busFixture();
  const supported = immutableSupported(dir.path);
  afterAll(() => {
    if (supported) setImmutable(dir.path, false);
  });

  it.skipIf(!supported)(
    'still stops cleanly once the final snapshot is written, saying the pid file stays',
    async () => {
      const s = use(await startService(['--data-dir', dir.path]));
      await waitReady(s);
      setImmutable(dir.path, true);
      let code: number | null;
      try {
        code = await s.stop('SIGTERM');
      } finally {
        setImmutable(dir.path, false);
      }
      expect(s.logs.some((l) => l.includes('"msg":"final snapshot written"'))).toBe(true);
      expect(s.logs.some((l) => l.includes('"msg":"stop failed"'))).toBe(false);
      expect(code).toBe(0);
      expect(s.logs.some((l) => l.includes('could not remove statscache.pid'))).toBe(true);
    },
    60_000,
  );
});
