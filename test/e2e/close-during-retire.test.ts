import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { capturedLog, pluginDigests } from '../helpers/in-process-service.js';

/**
 * After a snapshot, slots past a lowered --snapshot-generations are removed in steps over many
 * turns, as the journal trim is; close() waited out every step. It now stops the removal at its
 * next step: each step is a transaction that removes some of the slot's entries, its meta record
 * last, so a slot left half removed is one restore only falls back to (as after a kill), and the
 * next snapshot's retirement finishes it. Real service, real LMDB; one entry a step, close()
 * called from the third.
 */
describe('close() while a snapshot slot is retired', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('stops at its next step; the next start restores the newest generation and finishes the retirement', async () => {
    const { lines, logger } = capturedLog<{ msg?: string; err?: unknown; slot?: number }>();
    const flags = { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600 };
    const two = loadConfig({ flags: { ...flags, snapshotGenerations: 2 } });
    const one = loadConfig({ flags: { ...flags, snapshotGenerations: 1 } });

    // Two generations, in slots 1 and 0.
    const a = await Service.build({ config: two, logger });
    await a.recover();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 2; i++) {
      for (const m of recentSamples(now - i * 7)) a.accept({ ...m, msg_id: `${m.msg_id}-${i}` } as never);
      await a.settled();
      await a.snapshot();
    }
    await a.close();

    // The count lowered to 1: slot 1 goes after the next snapshot, one entry a step.
    let steps = 0;
    let closing: Promise<void> | null = null;
    const b = await Service.build({
      config: one,
      logger,
      retirePacing: {
        step: 1,
        onStep: () => {
          if (++steps === 3) closing = b.close();
        },
      },
    });
    await b.recover();
    const before = pluginDigests(b);
    await b.snapshot();
    expect(closing, 'close() was called from the retirement').not.toBeNull();
    await closing;
    expect(steps).toBe(3);
    expect(lines.filter((l) => /failed/.test(l.msg ?? ''))).toEqual([]);
    expect(lines.some((l) => /slot past --snapshot-generations removed/.test(l.msg ?? ''))).toBe(false);
    const stopped = lines.filter((l) => /^removing a snapshot slot .* stopped/.test(l.msg ?? ''));
    expect(stopped.map((l) => [l.slot, (l as { entries?: number }).entries])).toEqual([[1, 3]]);

    const c = await Service.build({ config: one, logger });
    try {
      await c.recover();
      expect(pluginDigests(c)).toEqual(before);
      await c.snapshot();
      expect(
        lines.filter((l) => /slot past --snapshot-generations removed/.test(l.msg ?? '')).map((l) => l.slot),
      ).toEqual([1]);
    } finally {
      await c.close();
    }
  }, 60_000);
});
