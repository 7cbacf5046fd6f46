import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { decodeExport } from '../../src/commands/export-format.js';
import { recentSamples } from '../helpers/fixtures.js';
import { journaledAndApplied, journaledTotal, waitReady, joinedPublisher } from '../helpers/probes.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';

const VOLUME = 'volume-by-category-1d';

/**
 * Restoring a backup into the live data dir ("snapshot import" into a dir that already holds
 * state): what the dir journaled after the export must reach the imported state, once.
 */
describe('snapshot import into a data dir that already holds state', () => {
  const data = tempDir();
  const scratch = tempDir();
  const file = join(scratch.path, 'backup.scx');
  const running = new Set<RunningService>();
  let first: Sample[];
  let second: Sample[];

  const start = async () => {
    // No timed snapshot: only the stops write generations. The bus is not what is tested: its
    // receive stays on the main thread (a bus thread is ~0.24 s of CPU a start).
    const s = await startService(['--data-dir', data.path, '--snapshot-interval', '86400', '--bus-thread', 'false']);
    running.add(s);
    await waitReady(s);
    return s;
  };
  const stop = async (s: RunningService) => {
    expect(await s.stop('SIGTERM')).toBe(0);
    running.delete(s);
  };
  const publish = async (s: RunningService, list: readonly Sample[], total: number) => {
    const pub = await joinedPublisher(s);
    try {
      for (const e of list) await pub.send(e.topic, JSON.stringify(e));
      await eventually(
        async () => ((await journaledAndApplied(s.base, total)) ? true : undefined),
        20_000,
        `${total} journaled and applied`,
      );
    } finally {
      pub.close();
    }
  };
  /** What the service counted (/api) and what its journal holds (/raw), once everything journaled is applied. */
  const counts = async (s: RunningService) => {
    const journaled = (await journaledTotal(s.base)) as number;
    await eventually(
      async () => ((await journaledAndApplied(s.base, journaled)) ? true : undefined),
      20_000,
      'journal applied',
    );
    const rows = (await servedViews(s.base, [VOLUME])).get(VOLUME) as (Row & { volume?: number })[];
    return { counted: rows.reduce((n, r) => n + (r.volume ?? 0), 0), journaled };
  };
  const expectViews = async (s: RunningService, messages: readonly Sample[]) => {
    const reference = referenceViews(messages as never);
    const served = await servedViews(s.base, reference.keys());
    for (const [ident, rows] of reference) expect({ ident, rows: served.get(ident) }).toEqual({ ident, rows });
  };

  beforeAll(() => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    first = samples.slice(0, 300);
    const newestFirst = Math.max(...first.map((e) => e.timestamp));
    // One message of the second batch arrives late, stamped before the export's newest message
    // (inside the export's journal tail window, but not in its tail): not in the exported state either.
    const kept = new Set(acceptedOnce(samples));
    const late = samples.findIndex((e, i) => i >= 300 && kept.has(e));
    second = samples.slice(300).map((e, i) => (i + 300 === late ? { ...e, timestamp: newestFirst - 30 } : e));
  });

  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    data.remove();
    scratch.remove();
  });

  it('into a data dir holding exactly the exported messages: adds and replays nothing, counts each once', async () => {
    const p = await start();
    await publish(p, first, acceptedOnce(first).length);
    await stop(p);
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', data.path]);
    expect(exported.code, exported.stderr).toBe(0);
    const tail = decodeExport(readFileSync(file)).journalTail.length;
    expect(tail).toBe(acceptedOnce(first).length);

    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data.path]);
    expect(imported.code, imported.stderr).toBe(0);
    const again = await start();
    const n = acceptedOnce(first).length;
    expect(await counts(again)).toEqual({ counted: n, journaled: n });
    await expectViews(again, acceptedOnce(first));
    await stop(again);
    expect(imported.stdout).toContain(`0 journal messages added (${tail} already present)`);
    expect(imported.stdout).toContain("replays 0 of this data dir's own messages the export lacks on top");
  }, 120_000);

  it('what the data dir journaled after the export is replayed on top of the imported state, once', async () => {
    const all = acceptedOnce([...first, ...second]);
    const p = await start();
    await publish(p, second, all.length);
    expect(await counts(p)).toEqual({ counted: all.length, journaled: all.length });
    await stop(p);

    // Restore the backup into the live data dir (README: "Move or back up state").
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', data.path]);
    expect(imported.code, imported.stderr).toBe(0);
    const restored = await start();
    // Every message counted exactly once, and /api agrees with /raw.
    expect(await counts(restored)).toEqual({ counted: all.length, journaled: all.length });
    await expectViews(restored, all);
    await stop(restored);
    const own = all.length - acceptedOnce(first).length;
    expect(imported.stdout).toContain(`0 journal messages added (${acceptedOnce(first).length} already present)`);
    expect(imported.stdout).toContain(`replays ${own} of this data dir's own messages the export lacks on top`);

    // The next generation covers them: a further restart replays nothing twice.
    const later = await start();
    expect(await counts(later)).toEqual({ counted: all.length, journaled: all.length });
    await expectViews(later, all);
    await stop(later);
  }, 120_000);
});
