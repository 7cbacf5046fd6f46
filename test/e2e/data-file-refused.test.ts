import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { busFixture } from '../helpers/bus-fixture.js';
import { immutableSupported, setImmutable } from '../helpers/immutable-file.js';
import { unlessLmdbAborted } from '../helpers/lmdb-abort.js';
import { metricOf, waitReady } from '../helpers/probes.js';
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
const ATTEMPTS = 5;

describe('a data file that refuses writes while serving, then takes them again', () => {
  const { dir, pub, use } = busFixture();
  const supported = immutableSupported(dir.path);
  const files: string[] = [];
  // Never left immutable: the fixture removes the folder after this.
  afterAll(() => {
    for (const f of files) setImmutable(f, false);
  });

  /**
   * One run on a fresh data dir; 'aborted' when the process died of lmdb-js 3.5.6's own heap
   * overrun on a failed page write (SIGABRT, 'corrupted size vs. prev_size' or 'malloc(): …':
   * README, runbook "Disk full"), seen in about 1 of 5 runs on a loaded machine, while writes
   * were refused or after the file took them again (CI of 2fdfb2e: a read just after),
   * before what this test checks could be reached.
   */
  async function run(attempt: number): Promise<'done' | 'aborted'> {
    const dataDir = join(dir.path, `attempt-${attempt}`);
    const file = join(dataDir, 'statscache.lmdb');
    const args = ['--connect', pub.lastEndpoint as string, '--data-dir', dataDir, '--snapshot-interval', '0.5'];
    const s = use(await startService(args));
    await waitReady(s);
    files.push(file);
    return unlessLmdbAborted(s.child, async () => {
      const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
      let sent = 0;
      const send = async (n: number) => {
        for (let i = 0; i < n; i++, sent++) {
          const m = samples[sent % samples.length] as Record<string, unknown>;
          await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `2026-refused-${attempt}-${sent}` })]);
        }
      };
      const generation = () => metricOf(s.base, 'statscache_snapshot_generation');
      await eventually(async () => {
        await send(10);
        return (await generation()) > 0 || undefined;
      });

      setImmutable(file, true);
      try {
        await eventually(
          async () => {
            if (s.child.signalCode === 'SIGABRT') return 'aborted';
            await send(20);
            const ready = (await getJson(`${s.base}/readyz`)).body as Record<string, unknown>;
            return /journal writes failing/.test(String(ready['degraded'])) &&
              /snapshots failing/.test(String(ready['degraded']))
              ? 'reported'
              : undefined;
          },
          30_000,
          'journal writes and snapshots both reported failing',
        );
        if (s.child.signalCode === 'SIGABRT') return 'aborted';
        expect(await metricOf(s.base, 'statscache_snapshot_failures_total')).toBeGreaterThan(0);
      } finally {
        setImmutable(file, false);
      }

      const before = await generation();
      const recovered = await eventually(
        async () => {
          if (s.child.signalCode === 'SIGABRT') return 'aborted';
          await send(5);
          const held = await metricOf(s.base, 'statscache_journal_unwritten_records', 'state="held"');
          return held === 0 && (await generation()) > before ? true : undefined;
        },
        30_000,
        'held records written and a new generation after the file takes writes again',
      );
      if (recovered === 'aborted') return 'aborted';
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

  it.skipIf(!supported)(
    'reports the failed snapshots, writes generations again, and stops cleanly',
    async () => {
      await pub.bind('tcp://127.0.0.1:*');
      // About 1 in 5 runs dies of lmdb-js's defect on a loaded host: 5 in a row (~1 in 3,000)
      // is a failure, not a skip, so a change that makes it the rule is seen.
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) if ((await run(attempt)) === 'done') return;
      expect.fail(`lmdb-js aborted the process on a failed page write in each of ${ATTEMPTS} runs (its known defect)`);
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
