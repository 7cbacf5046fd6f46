import { afterEach, describe, expect, it } from 'vitest';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { type CatchUpOutcome, catchUp, planCatchUp } from '../../src/catch-up.js';
import { loadConfig } from '../../src/config.js';
import { assembleCore } from '../../src/core.js';
import { createLogger } from '../../src/logger.js';
import { tempDir } from '../helpers/service-process.js';
import { topicCounter } from '../helpers/topic-counter.js';

/**
 * A start stopped while it catches a plugin up (src/catch-up.ts) snapshots that plugin with the
 * seq it reached, not as if it held every record: the next start goes on from there and ends
 * where a run that had the plugin all along is. Real LMDB data dirs, the service's own core.
 */
const koji = topicCounter('Koji');
const other = topicCounter('Other');
const log = createLogger('silent');
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

const now = Date.now();
const message = (i: number) => ({
  topic: `org.fedoraproject.prod.t${i % 3}`,
  timestamp: Math.floor(now / 1000) - 3600 + i,
  msg_id: `2026-catch-up-stopped-${i}`,
  msg: {},
});

/** One run over `dir` with `plugins`: takes `messages`, then `during(core)`, then a snapshot. */
async function run(
  dir: string,
  plugins: unknown[],
  messages: number[],
  during: (core: ReturnType<typeof assembleCore>) => Promise<void> = async () => {},
  /** False: the process dies before its final snapshot (the newest generation is whatever `during` took). */
  finalSnapshot = true,
) {
  const store = new DataStore(dir);
  const core = assembleCore({
    config: loadConfig({ env: {}, flags: { dataDir: dir } }),
    store,
    plugins,
    now: () => now,
  });
  try {
    await during(core);
    for (const i of messages) core.intake.accept(message(i));
    await core.intake.settled();
    if (finalSnapshot) await core.snapshotter.take();
    return { rows: core.host.get('koji')?.stats().rows ?? null, digest: core.host.get('koji')?.digest };
  } finally {
    core.host.stop();
    await store.close();
  }
}

/** Catches up what the restored state lacks; `stopAfter` entries read, the signal says stop. */
async function catchUpIn(
  core: ReturnType<typeof assembleCore>,
  stopAfter = Number.POSITIVE_INFINITY,
  options: { sliceMs?: number; onRead?: (reads: number) => void } = {},
) {
  const plan = planCatchUp(core.restored, core.host.idents);
  if (plan === null) return { plan, outcomes: [] as CatchUpOutcome[] };
  let reads = 0;
  // Read once per entry: stops the loop at a chosen point, as a SIGTERM during start-up does.
  const signal = {
    get aborted() {
      reads++;
      options.onRead?.(reads);
      return reads > stopAfter;
    },
  } as AbortSignal;
  const outcomes = await catchUp(
    {
      intake: core.intake,
      journal: core.journal,
      log,
      signal,
      hold: (i, m) => core.snapshotter.hold(i, m),
      ...(options.sliceMs === undefined ? {} : { sliceMs: options.sliceMs }),
    },
    plan,
    () => {},
  );
  return { plan, outcomes };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('a start stopped part-way through a catch-up', () => {
  it('snapshots the plugin at the seq it reached, and the next start goes on from there', async () => {
    const control = tempDir();
    const d = tempDir();
    dirs.push(control, d);
    const want = await run(control.path, [koji, other], range(0, 40));

    await run(d.path, [koji, other], range(0, 10));
    await run(d.path, [other], range(10, 40)); // koji misses seqs 11..40
    // Loaded again, stopped after 12 of the 30 records: snapshotted as it stands.
    await run(d.path, [koji, other], [], async (core) => {
      const { plan, outcomes } = await catchUpIn(core, 12);
      expect(plan?.behind.map((b) => [b.ident, b.after])).toEqual([['koji', 10]]);
      expect(outcomes).toEqual([]);
    });
    await run(d.path, [koji, other], [], async (core) => {
      // Where the stopped start got to: 12 records in.
      expect(core.restored.resumed?.['koji']?.journalSeq).toBe(22);
      const { outcomes } = await catchUpIn(core);
      expect(outcomes).toEqual([
        { ident: 'koji', fromSeq: 23, toSeq: 40, fromTime: message(22).timestamp, applied: 18, missing: null },
      ]);
    });
    const after = await run(d.path, [koji, other], []);
    expect(after).toEqual(want);
  });

  it('a snapshot taken while it waits for its next turn holds the plugin at the seq it holds', async () => {
    const control = tempDir();
    const d = tempDir();
    dirs.push(control, d);
    const want = await run(control.path, [koji, other], range(0, 40));
    await run(d.path, [koji, other], range(0, 10));
    await run(d.path, [other], range(10, 40));
    // A snapshot (a stop's final one, POST /admin/snapshot) asked for as the 6th record (seq 16)
    // is read cuts at the yield after it; the process then dies before any other.
    await run(
      d.path,
      [koji, other],
      [],
      async (core) => {
        let taken: Promise<unknown> | null = null;
        await catchUpIn(core, Number.POSITIVE_INFINITY, {
          sliceMs: 0,
          onRead: (reads) => {
            if (reads === 6) taken = core.snapshotter.take();
          },
        });
        expect(taken).not.toBeNull();
        await taken;
      },
      false,
    );
    await run(d.path, [koji, other], [], async (core) => {
      expect(core.restored.resumed?.['koji']?.journalSeq).toBe(16);
      const { outcomes } = await catchUpIn(core);
      expect(outcomes.map((o) => [o.fromSeq, o.applied])).toEqual([[17, 24]]);
    });
    expect(await run(d.path, [koji, other], [])).toEqual(want);
  });
});
