import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { releaseSlowPlugin, slowPlugin } from '../helpers/bus-flood.js';
import { metaWriteFault } from '../helpers/meta-write-fault.js';
import { journaledTotal, loggedLine, waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

const TOKEN = 'panic-at-start-admin-token-0123456789';
/**
 * Journal records after the restored generation: a replay of seconds, which the snapshot lands
 * within. An operator plugin holds each one 1 ms (Atomics.wait, no CPU) until released, so the
 * replay the snapshot meets lasts 12 s or more however idle the machine; 150,000 records applied
 * at full speed (a replay of ~3 s idle) cost ~10 s of CPU across the writer and both replays.
 */
const RECORDS = 12_000;

/**
 * MDB_PANIC while the start-up replay runs: a snapshot (POST /admin/snapshot, the one write a
 * start takes while it replays) whose commit fails at its meta-page write (helpers/meta-write-fault.c).
 * The store asks LMDB with a read whether the environment failed for good (store-panic.ts
 * check), and lmdb-js answered it from the read transaction the replay's journal iterator
 * held open: begun before the failed commit and still "current" (the commit moved no txn id),
 * so it was reused rather than begun, and no MDB_PANIC was seen. The snapshot was answered
 * SC_DATA_FILE_WRITE_FAILED "the service keeps serving", the replay finished, the service said
 * "ready: consuming the bus live" on a file that took no write, and only the append probe
 * ~30 s later found the panic. Now the check reads through a transaction begun afresh: the
 * snapshot is SC_DATA_FILE_PANIC, the service stops (exit 1), and the next start replays every
 * journaled record: nothing journaled is lost.
 */
describe('MDB_PANIC during the start-up replay', () => {
  const dir = tempDir();
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop('SIGKILL');
    dir.remove();
  });

  it('is named SC_DATA_FILE_PANIC at once, the start ends with exit 1, and the next start replays all', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const file = join(dataDir, 'statscache.lmdb');
    const env = { STATSCACHE_ADMIN_TOKEN: TOKEN };
    // Slow until `released` exists: the third start replays at full speed.
    const released = join(dir.path, 'released');
    writeFileSync(join(dir.path, 'slow.mjs'), slowPlugin(1, released));
    writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ plugins: ['./slow.mjs'] }));
    // Neither thread: the replay runs on the main thread, where the snapshot meets it, and no bus
    // message comes (the bus thread cost each of the three starts a worker's CPU and wall).
    const args = [
      '--config',
      join(dir.path, 'config.json'),
      '--data-dir',
      dataDir,
      '--replay-thread',
      'false',
      '--bus-thread',
      'false',
    ];
    const first = await startService(args, env);
    running.push(first);
    await waitReady(first);
    expect(await first.stop('SIGTERM')).toBe(0);

    // Journaled after the generation the stop wrote: the next start replays them.
    const store = new DataStore(dataDir);
    const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
    const from = Math.floor(Date.now() / 1000) - RECORDS;
    for (let i = 0; i < RECORDS; i++) {
      journal.accept({
        topic: 'org.fedoraproject.prod.wiki.article.edit',
        timestamp: from + i,
        msg_id: `2026-replay-panic-${i}`,
        msg: { n: i },
      });
      if (i % 5000 === 4999) await journal.flush();
    }
    await journal.flush();
    expect(journal.backlog.status()).toBeNull();
    await store.close();

    const second = await startService(args, { ...env, ...fault.env });
    running.push(second);
    const exited = new Promise<number | null>((resolve) => second.child.once('exit', (code) => resolve(code)));
    await eventually(
      async () => {
        const r = await getJson(`${second.base}/readyz`).catch(() => null);
        return r !== null && String((r.body as { reason?: string }).reason).includes('replaying journal')
          ? true
          : undefined;
      },
      30_000,
      'the replay under way',
    );
    fault.arm();
    const res = await fetch(`${second.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const answer = (await res.json()) as { error: string; detail: string };
    const code = await exited;
    fault.disarm();
    expect(fault.fired()).toBeGreaterThan(0);

    const panic = `SC_DATA_FILE_PANIC: the data file ${file} failed for good in this process`;
    expect(answer.error).toBe('snapshot_failed');
    expect(answer.detail).toContain(panic);
    expect(answer.detail).toContain('the service stops without a final snapshot and exits 1 for its supervisor');
    expect(code).toBe(1);
    const died = JSON.parse(
      await loggedLine(second, (l) => l.includes('"msg":"intake stopped; /healthz now fails"'), 'the fatal reason'),
    ) as { reason: string };
    expect(died.reason).toContain(panic);
    // Never says ready once it knows the file takes no write. (Whether the failed commit lands
    // before the replay's end varies with the machine's load: in a CI run the replay ended first;
    // test/snapshots/panicked-iterating holds a read open across the commit every time.)
    const fatalAt = second.logs.findIndex((l) => l.includes('"msg":"intake stopped; /healthz now fails"'));
    expect(fatalAt).toBeGreaterThanOrEqual(0);
    expect(second.logs.slice(fatalAt).filter((l) => l.includes('"msg":"ready: consuming the bus live"'))).toEqual([]);
    // LMDB's bare read error reaches no log line and no exit message.
    expect(second.logs.filter((l) => l.includes('Invalid argument: MDB_PANIC'))).toEqual([]);

    releaseSlowPlugin(released);
    const third = await startService(args, env);
    running.push(third);
    await waitReady(third);
    expect(await journaledTotal(third.base)).toBe(RECORDS);
    expect(await third.stop('SIGTERM')).toBe(0);
  }, 180_000);
});
