/**
 * Restore refuses a generation holding a row whose timestamp is not a finite number
 * (restore-checks.ts validateRows: rows are indexed and expired by it), but nothing stopped a
 * plugin from writing one: `rows.put({ timestamp: Number(body.at), … })` on a message without
 * `at` stored a NaN-stamped row, every snapshot from then on wrote it, and the next start
 * found each generation unreadable and started empty. The journal had let go of what those
 * generations covered, so every plugin's state older than --journal-max-age was gone. Such a
 * row is now refused when it is written: that message is lost to that plugin only
 * (update_error), as when a plugin stores a value a snapshot cannot keep.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { recentSamples } from '../helpers/fixtures.js';
import { oneGeneration } from '../helpers/one-generation.js';
import { acceptedOnce, type Sample } from '../history/feed.js';

/** Dates its row by the body's `at`, which only its own messages carry: any other gives NaN, `at: "soon"` too. */
const stampedByBody = definePlugin({
  name: 'Stamped by body',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; topic: string }>(),
  columns: ['topic'],
  key: ['timestamp', 'topic'],
  update(m, { rows }) {
    const body = m.body as { stamped?: boolean; at?: unknown } | null;
    if (body?.stamped !== true) return;
    rows.put({ timestamp: Number(body.at), topic: m.topic });
  },
});

describe('a row whose timestamp is not a finite number', () => {
  const { build, volume, remove } = oneGeneration(stampedByBody);
  afterAll(() => remove());

  it('is refused when written (that message, that plugin), and every snapshot stays readable', async () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 7200) as Sample[];
    const good = samples.slice(0, 200);
    const base = samples[200] as Sample;
    const dated: Sample = { ...base, msg_id: 'stamped-1', msg: { stamped: true, at: base.timestamp } } as Sample;
    const undated: Sample = { ...base, msg_id: 'stamped-2', msg: { stamped: true } } as Sample;

    const service = await build();
    await service.start();
    for (const m of [...good, dated, undated]) service.accept(m as never);
    await service.settled();
    const counted = await volume(service);
    expect(counted).toBe(acceptedOnce([...good, dated, undated]).length);
    const stamped = service.host.get('stamped-by-body');
    expect(stamped?.inspect().counters).toMatchObject({ applied: 201, dropped: { update_error: 1 } });
    expect([...(stamped?.inspect().rows.values() ?? [])]).toEqual([{ timestamp: base.timestamp, topic: base.topic }]);
    await service.snapshot();
    await service.stop();

    const again = await build();
    try {
      await again.start();
      // Before the fix: the one generation was unreadable ("row … has no numeric timestamp"), the
      // journal held none of the 202 messages, and every plugin started empty.
      expect(again.restored.fallbacks).toEqual([]);
      expect(await volume(again)).toBe(counted);
      expect([...(again.host.get('stamped-by-body')?.inspect().rows.values() ?? [])]).toEqual([
        { timestamp: base.timestamp, topic: base.topic },
      ]);
    } finally {
      await again.close();
    }
  }, 60_000);
});
