import { afterEach, describe, expect, it } from 'vitest';
import type { Journal } from '../../snapshots/journal.js';
import { trimJournal, trimWaitsOnCoverage } from '../../snapshots/journal-trim.js';
import { openJournal } from '../helpers/persistence.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** A journal of `old` entries dated 1 000 s, then `recent` dated 5 000 s. */
async function journalOf(old: number, recent: number) {
  const { store, journal } = openJournal(dirs);
  for (let i = 0; i < old + recent; i++)
    journal.accept({ topic: 'a.b.c.d', timestamp: i < old ? 1_000 : 5_000, msg_id: `m-${i}`, msg: { i } });
  await journal.flush();
  return { store, journal };
}

const seqs = (journal: Journal) => [...journal.after(0, { remember: false })].map((e) => e.seq);

describe('journal trim', () => {
  it('scans and drops in bounded steps with the event loop free between them, up to what every snapshot covers', async () => {
    const { store, journal } = await journalOf(1_000, 0);
    let steps = 0;
    const removed = await trimJournal(
      journal,
      { coveredSeq: 600, cutoffTimestamp: 2_000, bytes: 0, maxBytes: 1 },
      { step: 50, onStep: () => steps++ },
    );
    expect(removed).toBe(600);
    expect(seqs(journal)).toEqual(Array.from({ length: 400 }, (_, i) => 601 + i));
    // 600 entries in steps of 50: 12 scan steps, then 12 transactions with a pause between each two.
    expect(steps).toBe(12 + 11);
    await store.close();
  });

  it('stops at the first entry still within retention, and drops the same with one step or many', async () => {
    for (const step of [7, 10_000]) {
      const { store, journal } = await journalOf(300, 200);
      const removed = await trimJournal(
        journal,
        { coveredSeq: 500, cutoffTimestamp: 2_000, bytes: 0, maxBytes: 1 },
        { step },
      );
      expect(removed).toBe(300);
      expect(journal.firstRetained).toBe(301);
      expect(seqs(journal)).toHaveLength(200);
      expect(journal.getById('m-300')?.seq).toBe(301);
      expect(journal.getById('m-299')).toBeNull();
      await store.close();
    }
  });

  it('keeps everything inside the backfill window, whatever the size cap or the age says', async () => {
    // 300 entries dated 1 000 s, then 200 dated 5 000 s; the journal is far over its cap.
    const { store, journal } = await journalOf(300, 200);
    const over = { coveredSeq: 500, cutoffTimestamp: 0, bytes: 10_000_000, maxBytes: 1 };
    // Without a window the size cap takes every covered entry; with the window from 4 400 s on it stops at the first one dated inside.
    const kept = await trimJournal(journal, { ...over, keepFromTimestamp: 5_000 - 600 });
    expect(kept).toBe(300);
    expect(journal.firstRetained).toBe(301);
    // Past --journal-max-age too: still kept while inside the window.
    expect(await trimJournal(journal, { ...over, cutoffTimestamp: 9_000, keepFromTimestamp: 4_400 })).toBe(0);
    expect(seqs(journal)).toHaveLength(200);
    expect(await trimJournal(journal, over)).toBe(200);
    await store.close();
  });

  it('says when the trim waits only on coverage: the first record a generation lacks is past retention', async () => {
    // 300 entries dated 1 000 s, then 200 dated 5 000 s.
    const { store, journal } = await journalOf(300, 200);
    const policy = { coveredSeq: 100, cutoffTimestamp: 2_000, bytes: 0, maxBytes: 1 };
    // Record 101 is old: a generation covering it would let the trim go on.
    expect(trimWaitsOnCoverage(journal, policy)).toBe(true);
    // Record 301 is within retention: coverage is not what holds it.
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 300 })).toBe(false);
    // Over its size cap by half (250 entries): the 300 old records before it are that half, so
    // record 301 would stay whatever covered it, and a generation would free nothing.
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 300, bytes: 2 })).toBe(false);
    // Over it by nine tenths (450), record 301 would go, but the answer reads at most one trim
    // step (256 records) of what is covered first: the trim drops those, the next snapshot decides.
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 300, bytes: 10 })).toBe(false);
    // Inside the backfill window nothing goes, so nothing is worth a generation.
    expect(trimWaitsOnCoverage(journal, { ...policy, keepFromTimestamp: 900 })).toBe(false);
    // Every generation covers the whole journal.
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 500 })).toBe(false);
    // After a trim up to what is covered, the next record is the first retained.
    expect(await trimJournal(journal, policy)).toBe(100);
    expect(trimWaitsOnCoverage(journal, policy)).toBe(true);
    expect(await trimJournal(journal, { ...policy, coveredSeq: 500 })).toBe(200);
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 300 })).toBe(false);
    // ... unless the journal is over its size cap: 301 is among the half of the 200 left to drop.
    expect(trimWaitsOnCoverage(journal, { ...policy, coveredSeq: 300, bytes: 2 })).toBe(true);
    await store.close();
  });
});
