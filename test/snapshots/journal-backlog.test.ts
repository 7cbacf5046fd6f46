import { describe, expect, it } from 'vitest';
import { JournalBacklog } from '../../snapshots/journal-backlog.js';
import type { JournalAppend } from '../../snapshots/lmdb-store.js';

const record = (seq: number, bytes = 100): JournalAppend => ({
  seq,
  id: `id-${seq}`,
  timestamp: seq,
  value: new Uint8Array(bytes),
});
const seqs = (records: readonly JournalAppend[]) => records.map((r) => r.seq);

/** What the journal holds after failed commits (the real commit failure: test/e2e/disk-full.test.ts). */
describe('the records held after failed journal commits', () => {
  it('holds them for another try, and is clear once a commit takes them', () => {
    const b = new JournalBacklog(10_000);
    expect(b.status()).toBeNull();
    b.failed([record(1), record(2)], new Error('Input/output error'), 5_000);
    expect(b.failing).toBe(true);
    expect(b.status()).toEqual({ failingSince: 5_000, lastError: 'Input/output error', held: 2, dropped: 0 });
    // Held untried while failing, then all tried together.
    b.hold([record(3)]);
    const tried = b.take();
    expect(seqs(tried)).toEqual([1, 2, 3]);
    // Tried again and refused again: the first failure's time stays.
    b.failed(tried, new Error('No space left on device'), 9_000, tried.length);
    expect(b.status()).toMatchObject({ failingSince: 5_000, lastError: 'No space left on device', held: 3 });
    const again = b.take();
    b.committed(again.length);
    expect(b.status()).toBeNull();
    expect(b.failing).toBe(false);
  });

  it('holds a copy of the record alone, not the entry a queued record also is', () => {
    const b = new JournalBacklog(10_000);
    const queued = { ...record(1), envelope: { topic: 't', timestamp: 1, msg: { big: 'x'.repeat(1000) } }, meta: {} };
    b.failed([queued], new Error('e'), 1);
    const [held] = b.take();
    expect(held).toEqual(record(1));
    expect(Object.keys(held as object)).toEqual(['seq', 'id', 'timestamp', 'value']);
    expect(held?.value).toBe(queued.value);
  });

  it('stays failing when a later batch commits while an earlier one is still held', () => {
    const b = new JournalBacklog(10_000);
    b.failed([record(1)], new Error('e'), 1);
    b.committed();
    expect(b.status()).toMatchObject({ held: 1 });
  });

  it('lets the oldest go past its byte bound, and a snapshot covering them clears them, never a held record', () => {
    const b = new JournalBacklog(250);
    b.failed([record(1), record(2), record(3), record(4)], new Error('e'), 1);
    expect(b.status()).toMatchObject({ held: 2, dropped: 2 });
    // A snapshot short of the dropped ones does not clear them.
    b.covered(1);
    expect(b.status()).toMatchObject({ held: 2, dropped: 2 });
    // One covering seq 3 clears the dropped ones; the held records it covers are still to be written.
    b.covered(3);
    expect(b.status()).toMatchObject({ held: 2, dropped: 0 });
    b.covered(4);
    expect(b.status()).toMatchObject({ held: 2, dropped: 0 });
    const taken = b.take();
    expect(seqs(taken)).toEqual([3, 4]);
    b.committed(taken.length);
    expect(b.status()).toBeNull();
  });

  it('counts records taken for a write as held until that write commits or fails', () => {
    // The gauge and /readyz read 0 for the whole retry otherwise, while the records were on no disk.
    const b = new JournalBacklog(10_000);
    b.failed([record(1), record(2)], new Error('e'), 1);
    const first = b.take();
    expect(b.held).toBe(0);
    expect(b.status()).toMatchObject({ held: 2, failingSince: 1 });
    // Refused again: held again, not counted twice.
    b.failed(first, new Error('e'), 2, first.length);
    expect(b.status()).toMatchObject({ held: 2 });
    // Two writes in flight at once (a snapshot's early retry beside the timer's): each settles its own.
    const second = b.take();
    b.hold([record(3)]);
    const third = b.take();
    expect(b.status()).toMatchObject({ held: 3 });
    b.committed(third.length);
    expect(b.status()).toMatchObject({ held: 2 });
    expect(b.failing).toBe(true);
    b.committed(second.length);
    expect(b.status()).toBeNull();
    expect(b.failing).toBe(false);
  });
});
