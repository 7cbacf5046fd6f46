import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { busFixture } from '../helpers/bus-fixture.js';
import { FIXTURES, recentSamples } from '../helpers/fixtures.js';
import { metaWriteFault } from '../helpers/meta-write-fault.js';
import { journaledAndApplied, journaledTotal, loggedLine, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir } from '../helpers/service-process.js';

const PANICKED_SERVICE = fileURLToPath(new URL('../helpers/panicked-service.mjs', import.meta.url));

/**
 * A commit whose last write, its meta page, the disk refuses (a disk failing mid-commit, a file
 * system remounted read-only, chattr +i landing between the data pages and the meta page: about
 * 1 run in 6 of data-file-refused.test.ts) leaves LMDB's environment failed for good in that
 * process: MDB_PANIC for every later transaction, and lmdb-js settles no write queued since.
 * The service logged the failed journal write and then nothing: its journal batches, the
 * snapshot cycle and its probes waited for good, /readyz said only "journal writes failing" with
 * the held records growing, and SIGTERM waited out --stop-timeout (20 s) to exit 1.
 *
 * Now the store names it (SC_DATA_FILE_PANIC, the data file, MDB_PANIC) and the service ends as
 * when intake dies: /healthz fails with that reason, no final snapshot is tried, the held
 * records lost are counted in the log, and it exits 1 at once for the supervisor. The next
 * start opens the file afresh and serves what was committed before: the journal of every
 * message confirmed applied before the fault, nothing of what came after. The stop is over
 * before a probe could see the 503: what the service answers meanwhile is asked of one run in
 * a process of its own whose onFatal only records (the second test).
 *
 * The fault is an LD_PRELOAD library (helpers/meta-write-fault.c) failing the data file's
 * meta-page pwrites with EIO while a trigger file exists: one commit writes its data pages and
 * fails its meta page, deterministically.
 */
describe('a data file whose commit fails at its meta-page write (MDB_PANIC)', () => {
  const { dir, pub, use } = busFixture();

  it('stops naming it (SC_DATA_FILE_PANIC), exits 1 at once without a final snapshot, and the next start serves what was committed', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const file = join(dataDir, 'statscache.lmdb');
    const args = ['--connect', pub.lastEndpoint as string, '--data-dir', dataDir, '--snapshot-interval', '0.5'];
    const first = use(await startService(args, fault.env));
    await waitReady(first);
    const exited = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));

    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5);
    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        const m = samples[i % samples.length] as Record<string, unknown>;
        await pub.send([String(m['topic']), JSON.stringify({ ...m, msg_id: `2026-panic-${i}` })]);
      }
    };
    const COMMITTED = 20;
    // Resent until all are in (a SUB socket's slow join); a repeat is a duplicate, not counted.
    await eventually(
      async () => {
        await send(0, COMMITTED);
        return (await journaledAndApplied(first.base, COMMITTED)) &&
          (await metricOf(first.base, 'statscache_snapshot_generation')) > 0
          ? true
          : undefined;
      },
      30_000,
      `${COMMITTED} messages journaled and a generation written`,
    );

    // A snapshot may commit between this read and the fault: the restart restores this one or a later one.
    const written = await metricOf(first.base, 'statscache_snapshot_generation');
    fault.arm();
    let sent = COMMITTED;
    const code = await eventually(
      async () => {
        if (first.child.exitCode !== null || first.child.signalCode !== null) return exited;
        await send(sent, 2);
        sent += 2;
        return undefined;
      },
      30_000,
      'the service to exit after its data file failed for good',
    );
    fault.disarm();
    expect(fault.fired()).toBeGreaterThan(0);
    expect(first.child.signalCode).toBeNull();
    expect(code).toBe(1);

    const reason = new RegExp(
      `^SC_DATA_FILE_PANIC: the data file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed for good in this process: .*\\(MDB_PANIC\\)`,
    );
    const died = JSON.parse(
      await loggedLine(first, (l) => l.includes('"msg":"intake stopped; /healthz now fails"'), 'the fatal reason'),
    ) as { reason: string };
    expect(died.reason).toMatch(reason);
    const lost = JSON.parse(
      await loggedLine(first, (l) => l.includes('"msg":"stopping without a final snapshot'), 'the records lost'),
    ) as { held: number; err: string; msg: string };
    expect(lost.err).toMatch(reason);
    expect(lost.held).toBeGreaterThan(0);
    expect(lost.msg).toContain(`${String(lost.held)} journal records held in memory are lost`);
    expect(first.logs.some((l) => l.includes('"msg":"final snapshot written"'))).toBe(false);
    expect(first.logs.some((l) => l.includes('graceful stop took too long'))).toBe(false);

    // The file is whole: a fresh open serves every message committed before the fault, none after.
    const second = use(await startService(args));
    await waitReady(second);
    expect((await getJson(`${second.base}/healthz`)).status).toBe(200);
    expect(await journaledTotal(second.base)).toBe(COMMITTED);
    const restored = JSON.parse(
      await loggedLine(second, (l) => l.includes('"msg":"restored snapshot"'), 'the restored generation'),
    ) as { generation: number };
    expect(restored.generation).toBeGreaterThanOrEqual(written);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 120_000);
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * What the service answers between the panic and its exit, asked of a Service run in a child
 * process under the injector whose onFatal only records (helpers/panicked-service.mjs): the
 * probes and the reads of the data file. Before, /healthz and /readyz answered 200 (degraded
 * "journal writes failing ... for another try", which never came), and /raw and /id
 * 500 "unexpected error; see the server log" naming neither MDB_PANIC nor the file; settled()
 * and the stop waited for good.
 */
describe('what a service whose data file failed for good answers', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('fails /healthz and /readyz naming it, statscache_healthy 0, /raw and /id 503 data_file_failed, the stop fails with it', async () => {
    const fault = metaWriteFault(dir.path);
    const file = join(dir.path, 'data', 'statscache.lmdb');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        PANICKED_SERVICE,
        join(dir.path, 'data'),
        fault.env['META_WRITE_FAULT_TRIGGER'] as string,
        `${FIXTURES}fedmsg/samples.jsonl`,
      ],
      { env: { ...process.env, ...fault.env }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(fault.fired()).toBeGreaterThan(0);
    const panic = new RegExp(
      `^SC_DATA_FILE_PANIC: the data file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed for good in this process: .*\\(MDB_PANIC\\)`,
    );
    expect(r['before']).toEqual({});
    expect(r['snapshot']).toEqual({ value: 1 });
    // The failed commit's records are held and applied, not waited on for good.
    expect(r['settledRefused']).toEqual({});
    expect(r['fatal']).toEqual([expect.stringMatching(panic)]);
    const healthz = r['healthz'] as Answer;
    expect(healthz.status).toBe(503);
    expect(healthz.body['status']).toBe('failing');
    expect(String(healthz.body['reason'])).toMatch(panic);
    const readyz = r['readyz'] as Answer;
    expect(readyz.status).toBe(503);
    expect(String(readyz.body['reason'])).toMatch(/^intake stopped: SC_DATA_FILE_PANIC: /);
    expect(r['healthy']).toBe(0);
    for (const read of [r['raw'], r['id']] as Answer[]) {
      expect(read.status).toBe(503);
      expect(read.body['error']).toBe('data_file_failed');
      expect(String(read.body['detail'])).toMatch(panic);
    }
    expect((r['stop'] as { error?: string }).error).toMatch(panic);
  }, 120_000);
});
