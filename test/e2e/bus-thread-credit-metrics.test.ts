/**
 * The bus thread's hand-over on /metrics: statscache_bus_thread_held_messages (read by the
 * thread, not yet taken in by the main thread) and statscache_bus_thread_waiting_for_credit (the
 * thread has stopped reading its sockets). Before, only tests could see it (flow()): an operator
 * saw a main thread behind the bus only once its publishers dropped messages (seq_missing).
 * Real service, real ZeroMQ, real LMDB file; the main thread is held behind a journal commit
 * that does not return (another process holding LMDB's write lock, stopped), with a small
 * --bus-queue-max-bytes so a few hundred messages fill the intake's share and the thread's credit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, metricOf, waitReady } from '../helpers/probes.js';
import { startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { holdWriteLock, type WriteLockHolder } from '../helpers/write-lock-holder.js';

const HELD = 'statscache_bus_thread_held_messages';
const WAITING = 'statscache_bus_thread_waiting_for_credit';

describe('the bus thread held back for credit', () => {
  const dir = tempDir();
  let svc: RunningService | null = null;
  let holder: WriteLockHolder | null = null;
  afterAll(async () => {
    holder?.kill();
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('shows on /metrics while the main thread takes nothing in, and clears once it does', async () => {
    // 2 MiB: the smallest budget for 4 KiB frames with a --bind socket. The intake may hold
    // 512 KiB uncommitted and the thread hand over 512 KiB: ~520 messages of 2 KB fill both.
    const s = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--max-frame-bytes',
      '4096',
      '--bus-queue-max-bytes',
      String(2 * 1024 * 1024),
    ]);
    svc = s;
    await waitReady(s);
    const pub = await joinedPublisher(s);
    /** Scrapes (one render per 100 ms at most, paced by the service) until `name` reads as `want` says. */
    const until = async (name: string, want: (v: number) => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const v = await metricOf(s.base, name);
        if (want(v)) return v;
        expect(Date.now(), what).toBeLessThan(deadline);
      }
    };
    try {
      await until(WAITING, (v) => v === 0, 'the thread never read freely');
      holder = await holdWriteLock(dir.path);
      const pad = 'x'.repeat(2000);
      for (let i = 0; i < 1500; i++) {
        const topic = 'org.fedoraproject.prod.credit.done';
        await pub.send(topic, JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `c-${i}`, msg: { pad } }));
      }
      await until(WAITING, (v) => v === 1, 'the thread never stopped for credit');
      const held = await metricOf(s.base, HELD);
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(1500);

      await holder.release();
      holder = null;
      await until(WAITING, (v) => v === 0, 'the thread never read again');
      await until(HELD, (v) => v === 0, 'the main thread never took in what the thread held');
    } finally {
      pub.close();
    }
  }, 90_000);
});
