/**
 * With --snapshot-generations 1 there is one slot, rewritten by every snapshot. A write that
 * threw part-way (here a plugin value whose encoding throws) used to leave that slot without its meta
 * record (f43fbee drops it before touching the slot's entries, because lmdb-js commits what a
 * transaction callback wrote before it threw): no generation at all. The journal had been
 * trimmed up to the last good generation, so the next start counted only what the journal
 * still held. The write now runs in a child transaction, which LMDB aborts whole.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { recentSamples } from '../helpers/fixtures.js';
import { oneGeneration } from '../helpers/one-generation.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { failEncoding, unencodable } from '../helpers/fragile-plugin.js';
import { acceptedOnce, type Sample } from '../history/feed.js';

describe('--snapshot-generations 1: a snapshot write that throws part-way', () => {
  const { build, volume, remove } = oneGeneration(unencodable);
  afterAll(() => remove());

  it('leaves the last good generation, and the next start counts every message once', async () => {
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 7200) as Sample[];
    const good = samples.slice(0, 200);
    const base = samples[200] as Sample;
    const poison: Sample = { ...base, msg_id: 'poison-1', msg: { big: true } } as Sample;
    const all = acceptedOnce([...good, poison]);

    const service = await build();
    await service.start();
    for (const m of good) service.accept(m as never);
    await service.settled();
    const first = await service.snapshot();
    expect(first.slot).toBe(0);
    // The journal let go of what the generation covers (the messages are past --journal-max-age).
    expect(service.journal.firstRetained === 0 || service.journal.firstRetained > first.journalSeq).toBe(true);
    const before = await volume(service);
    expect(before).toBe(acceptedOnce(good).length);

    service.accept(poison as never);
    await service.settled();
    failEncoding(true);
    await expect(service.snapshot()).rejects.toThrow(/failed to encode/);
    // The final snapshot throws too (the value is still there): the stop says so.
    await expect(service.stop()).rejects.toThrow(/failed to encode/);
    failEncoding(false);

    const again = await build();
    try {
      await again.start();
      // Before the fix: no generation left, the journal held only the poison message: 1 for 201.
      expect(await volume(again)).toBe(before + 1);
      expect(again.restored.meta?.generation).toBe(first.generation);
      const reference = referenceViews(all as never);
      const views = await servedViews(`http://127.0.0.1:${again.server?.port}`, reference.keys());
      for (const [ident, want] of reference) expect({ ident, rows: views.get(ident) }).toEqual({ ident, rows: want });
    } finally {
      await again.close();
    }
  }, 60_000);
});
