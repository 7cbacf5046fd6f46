import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childrenWith } from '../helpers/children.js';
import { holdExportChild, killExportChildren } from '../helpers/export-service.js';
import { snapshottedDataDir } from '../helpers/persistence.js';
import { loggedLine, metricOf } from '../helpers/probes.js';
import { getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

/**
 * GET /admin/export's child is killed past its time bound, but the bound was a constant of 10
 * minutes: no real service could be made to reach it in a test (export-child-hang.test.ts
 * drives the tally through shared() directly), and an operator with a state too large to
 * export in 10 minutes could not raise it. It is --export-timeout now. A spawned service with a
 * bound of 1 s, whose export child is held stopped, answers the export with a 500 saying it
 * timed out, counts it `timed_out`, shows no export in progress afterwards and goes on serving.
 */
const TOKEN = 'export-timeout-token-0123456789';

describe('--export-timeout on a running service', () => {
  const root = tempDir();
  const dir = join(root.path, 'data');
  let svc: RunningService | null = null;

  beforeAll(async () => {
    await snapshottedDataDir(dir, 200);
  });
  afterAll(async () => {
    // Left stopped only when the bound under test did not end it.
    if (svc?.child.pid !== undefined) killExportChildren(svc.child.pid);
    await svc?.stop('SIGTERM');
    root.remove();
  });

  it('times an export out: 500 export_failed naming the bound, counted timed_out, none left in progress', async () => {
    const s = await startService(['--data-dir', dir, '--export-timeout', '1'], { STATSCACHE_ADMIN_TOKEN: TOKEN });
    svc = s;
    const pid = s.child.pid as number;
    const answer = fetch(`${s.base}/admin/export`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    let answered = false;
    void answer.then(() => {
      answered = true;
    });
    const deadline = Date.now() + 30_000;
    const child = await holdExportChild(() => {
      expect(answered, 'the export was answered before its child was held').toBe(false);
      expect(Date.now(), 'no export child within 30 s').toBeLessThan(deadline);
    }, pid);

    const res = await answer;
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: 'export_failed',
      detail: expect.stringContaining('did not finish within 1 s (--export-timeout) and was killed'),
    });
    // Killed, not left stopped: the service has no export child any more.
    expect(childrenWith('export-child.js', undefined, pid)).toEqual([]);
    expect(existsSync(`/proc/${child}`)).toBe(false);
    await loggedLine(s, (l) => l.includes('GET /admin/export failed'), 'the export failure');
    expect(await metricOf(s.base, 'statscache_exports_total', 'outcome="timed_out"')).toBe(1);
    expect(await metricOf(s.base, 'statscache_exports_in_progress')).toBe(0);
    for (const outcome of ['built', 'no_snapshot', 'too_large', 'failed'])
      expect(await metricOf(s.base, 'statscache_exports_total', `outcome="${outcome}"`)).toBe(0);
    const health = await getJson(`${s.base}/healthz`);
    expect(health.status).toBe(200);
    expect(s.child.exitCode).toBeNull();
  }, 60_000);
});
