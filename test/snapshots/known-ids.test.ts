import { afterEach, describe, expect, it } from 'vitest';
import type { Journal } from '../../snapshots/journal.js';
import { MIN_FILTER_IDS } from '../../snapshots/id-filter.js';
import { KnownIds } from '../../snapshots/known-ids.js';
import { openJournal } from '../helpers/persistence.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

const message = (i: number) => ({ topic: 'a.b.c.d', timestamp: 1_000 + i, msg_id: `m-${i}`, msg: { i } });

/** Accepts messages `from` … `to - 1`; returns how many were new. */
function acceptRange(journal: Journal, from: number, to: number): number {
  let accepted = 0;
  for (let i = from; i < to; i++) if (journal.accept(message(i))) accepted++;
  return accepted;
}

describe('ids in memory', () => {
  it('keeps the newest `window` ids, forgetting the oldest first; an id remembered twice takes one place', async () => {
    const { store } = openJournal(dirs);
    const known = new KnownIds(store, 3, () => Promise.resolve());
    for (const id of ['a', 'b', 'c', 'd']) known.remember(id);
    // The index is empty: only memory can say yes.
    expect(['a', 'b', 'c', 'd'].map((id) => known.has(id))).toEqual([false, true, true, true]);
    known.remember('c');
    known.remember('e');
    expect(['b', 'c', 'd', 'e'].map((id) => known.has(id))).toEqual([false, true, true, true]);
    for (let i = 0; i < 10; i++) known.remember(`x${i}`);
    expect(['x6', 'x7', 'x8', 'x9', 'e'].map((id) => known.has(id))).toEqual([false, true, true, true, false]);
    await store.close();
  });
});

describe('de-duplication with the id filter (a real LMDB journal, 1 000 ids in memory)', () => {
  it('refuses a duplicate older than the memory window before and after the filter, and reads the index only for maybes', async () => {
    const { store, journal } = openJournal(dirs);
    expect(acceptRange(journal, 0, 3_000)).toBe(3_000);
    await journal.flush();
    const { stats } = journal.known;
    // Before the filter: the first ids left memory long ago, so the index says they were seen.
    expect(journal.accept(message(0))).toBeNull();
    expect(stats.indexReads).toBeGreaterThan(0);
    await journal.known.build();
    expect(stats.filterBuilds).toBe(1);
    expect(stats.filterBytes).toBeGreaterThan(0);
    const reads = stats.indexReads;
    expect(journal.accept(message(1))).toBeNull();
    expect(journal.accept(message(2))).toBeNull();
    expect(stats.indexReads).toBe(reads + 2);
    // New ids: settled by the filter, with at most its false positives reading the index.
    expect(acceptRange(journal, 3_000, 5_000)).toBe(2_000);
    expect(stats.filterSkips).toBeGreaterThanOrEqual(1_950);
    expect(stats.indexReads - (reads + 2)).toBeLessThanOrEqual(50);
    await journal.flush();
    // Ids appended after the build are in the filter too: out of memory, still refused.
    expect(acceptRange(journal, 3_000, 4_000)).toBe(0);
    await store.close();
  });

  it('waits for appends already handed to LMDB, holds ids appended while it fills, and is never used when stopped', async () => {
    const { store } = openJournal(dirs);
    const append = (ids: string[], first: number) =>
      store.appendJournal(ids.map((id, i) => ({ seq: first + i, id, timestamp: 1, value: new Uint8Array(1) })));
    const older = Array.from({ length: 500 }, (_, i) => `m-${i}`);
    await append(older, 1);
    let commit = () => {};
    const committed = new Promise<void>((r) => {
      commit = r;
    });
    // Ten ids per turn; `committed` stands for the journal's flush, released by the test.
    const known = new KnownIds(store, 1_000, () => committed, 10);
    const build = known.build();
    for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
    // Nothing read while an append handed to LMDB before the build may still be uncommitted.
    expect(known.stats.filterBuilds).toBe(0);
    commit();
    await null;
    // The first chunk is read: ids that sort before it and arrive now are behind the scan.
    const during = Array.from({ length: 20 }, (_, i) => `a-${i}`);
    for (const id of during) known.appended(id);
    await append(during, 1_000);
    await build;
    expect(known.stats.filterBuilds).toBe(1);
    // Push every id out of memory: only the filter and the index can answer now.
    for (let i = 0; i < 1_000; i++) known.appended(`z-${i}`);
    const reads = known.stats.indexReads;
    expect([...older, ...during].every((id) => known.has(id))).toBe(true);
    expect(known.stats.indexReads - reads).toBe(older.length + during.length);

    // A store that cannot be read (closed under it): one failed build, counted, none after.
    const { store: closed } = openJournal(dirs);
    const failing = new KnownIds(closed, 1_000, () => Promise.resolve(), 10);
    await failing.build();
    await closed.close();
    await failing.build();
    await failing.build();
    expect(failing.stats.filterBuildFailures).toBe(1);
    expect(failing.stats.filterBuilds).toBe(1);

    const stopped = new KnownIds(store, 1_000, () => Promise.resolve(), 10);
    const half = stopped.build();
    await new Promise((r) => setImmediate(r));
    stopped.stop();
    await half;
    expect(stopped.stats.filterBuilds).toBe(0);
    expect(stopped.has('m-1')).toBe(true);
    expect(stopped.stats.filterSkips).toBe(0);
    await store.close();
  });

  it('fills a larger filter once it holds more ids than it was sized for, answering from the old one meanwhile', async () => {
    const { store, journal } = openJournal(dirs);
    await journal.known.build();
    const first = journal.known.stats.filterBytes;
    expect(journal.known.stats.filterBuilds).toBe(1);
    // The first filter was sized for the smallest capacity (the index was empty).
    for (let from = 0; from <= MIN_FILTER_IDS; from += 8_192) {
      acceptRange(journal, from, Math.min(from + 8_192, MIN_FILTER_IDS + 1));
      await journal.flush();
    }
    // The rebuild started when the last id went past capacity; let it finish.
    for (let i = 0; i < 200 && journal.known.stats.filterBuilds < 2; i++) await new Promise((r) => setImmediate(r));
    expect(journal.known.stats.filterBuilds).toBe(2);
    expect(journal.known.stats.filterBytes).toBeGreaterThan(first);
    const reads = journal.known.stats.indexReads;
    expect(acceptRange(journal, 0, 2_000)).toBe(0);
    expect(journal.known.stats.indexReads - reads).toBe(2_000);
    await store.close();
  });
});
