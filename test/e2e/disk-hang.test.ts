/**
 * A disk that hangs fails nothing: a journal commit that never settles held every message
 * (plugins apply after the commit) while /healthz and /readyz stayed 200. Past
 * --disk-hang-timeout /readyz now answers 503 naming the pending commit, /healthz says degraded
 * (200: a restart does not unwedge a disk), the age is a metric, and all of it clears once the
 * write settles. Real service, real LMDB file; the hang is another process holding LMDB's write
 * lock, stopped (hold-write-lock.mjs): the service's writes wait in LMDB as on a stuck device.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, metricOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { holdWriteLock, type WriteLockHolder } from '../helpers/write-lock-holder.js';

const PENDING = 'statscache_disk_write_pending_seconds';

describe('a disk that hangs', () => {
  const dir = tempDir();
  let svc: RunningService | null = null;
  let holder: WriteLockHolder | null = null;
  afterAll(async () => {
    holder?.kill();
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  const served = async (base: string, category: string): Promise<boolean> => {
    const rows = (await getJson(`${base}/api/volume-by-category-1d?rows_per_page=100`)).body as { category: string }[];
    return rows.some((r) => r.category === category);
  };
  const send = (pub: Awaited<ReturnType<typeof joinedPublisher>>, category: string) => {
    const topic = `org.fedoraproject.prod.${category}.done`;
    return pub.send(
      topic,
      JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `2026-${category}`, msg: {} }),
    );
  };

  it('takes the replica out of the pool while a journal commit waits past --disk-hang-timeout, and back once it settles', async () => {
    const s = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600', '--disk-hang-timeout', '1']);
    svc = s;
    await waitReady(s);
    const pub = await joinedPublisher(s);
    try {
      await send(pub, 'before');
      await eventually(
        async () => ((await served(s.base, 'before')) ? true : undefined),
        15_000,
        'first message served',
      );
      expect(await metricOf(s.base, PENDING, 'write="journal"')).toBe(0);

      holder = await holdWriteLock(dir.path);
      await send(pub, 'wedged');
      const notReady = await eventually(
        async () => {
          const r = await getJson(`${s.base}/readyz`);
          return r.status === 503 ? (r.body as { reason: string }) : undefined;
        },
        15_000,
        '/readyz 503',
      );
      expect(notReady.reason).toMatch(/^journal commit pending for \d+ s \(--disk-hang-timeout 1\)/);
      const health = await getJson(`${s.base}/healthz`);
      expect(health.status).toBe(200);
      expect((health.body as { degraded?: string }).degraded).toMatch(/journal commit pending for \d+ s/);
      expect(await metricOf(s.base, PENDING, 'write="journal"')).toBeGreaterThanOrEqual(1);
      expect(await metricOf(s.base, 'statscache_ready')).toBe(0);
      expect(await metricOf(s.base, 'statscache_healthy')).toBe(1);
      // The message waits on its commit: nothing is served that a crash could take back.
      expect(await served(s.base, 'wedged')).toBe(false);

      await holder.release();
      holder = null;
      await eventually(
        async () => ((await served(s.base, 'wedged')) ? true : undefined),
        15_000,
        'held message served',
      );
      const ready = await eventually(
        async () => {
          const r = await getJson(`${s.base}/readyz`);
          return r.status === 200 ? (r.body as { degraded?: string }) : undefined;
        },
        15_000,
        '/readyz 200 again',
      );
      expect(ready.degraded).toBeUndefined();
      expect((await getJson(`${s.base}/healthz`)).body).not.toHaveProperty('degraded');
      expect(await metricOf(s.base, PENDING, 'write="journal"')).toBe(0);
      expect(await metricOf(s.base, PENDING, 'write="snapshot"')).toBe(0);
    } finally {
      pub.close();
    }
  });
});
