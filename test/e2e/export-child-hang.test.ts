import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportInChild, shared } from '../../src/export-process.js';
import { ExportTally } from '../../src/export-tally.js';
import { childrenWith } from '../helpers/children.js';
import { snapshottedDataDir } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * The child that builds GET /admin/export had no time bound: one that stopped answering (a
 * stalled disk, a stopped process) held the export forever, and as every request shares the one
 * being built (shared()), every later GET /admin/export, so a replica's --bootstrap retried
 * into the same hang until the peer restarted. Nothing was logged.
 */

/** Settles with the promise's outcome, or 'pending' if it has not settled within `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(
      (v) => ({ settled: 'resolved' as const, value: v }),
      (err: unknown) => ({ settled: 'rejected' as const, value: err as Error }),
    ),
    new Promise<{ settled: 'pending'; value: null }>((r) =>
      setTimeout(() => r({ settled: 'pending', value: null }), ms),
    ),
  ]);

describe('an export child that stops answering', () => {
  const root = tempDir();
  const dir = join(root.path, 'data');
  const hanging = join(root.path, 'hanging-node');

  beforeAll(async () => {
    await snapshottedDataDir(dir, 200);
    // A Node that stops itself as it starts: the export child hangs before it answers anything.
    writeFileSync(hanging, `#!/bin/sh\nkill -STOP $$\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
    chmodSync(hanging, 0o755);
  });
  afterAll(() => {
    // Left stopped only when the bound under test is missing.
    for (const pid of childrenWith(hanging)) process.kill(pid, 'SIGKILL');
    root.remove();
  });

  it('is killed at its time bound: the export fails saying so, and the next one is built afresh', async () => {
    let node = hanging;
    let timeoutMs = 1_000;
    // Counted as the service counts it (peerExport): one build, however many requests share it.
    const tally = new ExportTally();
    const build = shared(() => tally.follow(() => exportInChild(dir, 60, { maxBytes: 1 << 30, timeoutMs, node })));
    const first = build();
    // A request arriving meanwhile shares the hung build.
    const second = build();
    expect(tally.inProgress).toBe(1);
    const outcome = await within(first, 10_000);
    expect(outcome.settled).toBe('rejected');
    expect((outcome.value as Error | null)?.message).toMatch(/did not finish within 1 s/);
    expect((await within(second, 1_000)).settled).toBe('rejected');
    expect(childrenWith(hanging)).toEqual([]);
    // statscache_exports_in_progress back to 0, statscache_exports_total{outcome="timed_out"} 1.
    expect(tally.inProgress).toBe(0);
    expect(tally.ended).toMatchObject({ timed_out: 1, failed: 0 });
    // Once it is gone, the next request builds a new export, which this time answers.
    node = process.execPath;
    // A real child's start-up alone can take a second on a busy machine.
    timeoutMs = 20_000;
    const next = await build();
    expect(next?.generation).toBeGreaterThanOrEqual(1);
    expect(next?.bytes.byteLength).toBeGreaterThan(0);
    expect(tally.inProgress).toBe(0);
    expect(tally.ended).toMatchObject({ timed_out: 1, built: 1 });
  }, 30_000);
});
