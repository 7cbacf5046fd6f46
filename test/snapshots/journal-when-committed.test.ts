/**
 * Journal.whenCommitted(): the wait an AMQP delivery's ack makes. It must settle only once the
 * records queued so far are committed to the LMDB file and handed on, and must not flush them
 * early: the records accepted in one turn go to LMDB together (flush() at each delivery made
 * every delivery a batch of its own).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Journal, type JournalEntry } from '../../snapshots/journal.js';
import { tempDir } from '../helpers/service-process.js';

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function open() {
  const d = tempDir();
  dirs.push(d);
  const store = new DataStore(d.path);
  const batches: number[][] = [];
  const journal = new Journal(store, {
    dedupeWindow: 1000,
    onWriteError: (err) => {
      throw err;
    },
    onCommitted: (entries: readonly JournalEntry[]) => batches.push(entries.map((e) => e.seq)),
  });
  return { store, journal, batches };
}
const envelope = (i: number) => ({ topic: 'a.b.c.d', timestamp: 1_000 + i, msg: { i }, msg_id: `m-${i}` });

describe('Journal.whenCommitted', () => {
  it('waits for the turn’s group commit instead of flushing, and settles with every record of the turn on disk', async () => {
    const { store, journal, batches } = open();
    const waits: Promise<void>[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const entry = journal.accept(envelope(i));
      if (entry === null) throw new Error('a fresh id was taken for a duplicate');
      seqs.push(entry.seq);
      waits.push(journal.whenCommitted());
      // Nothing handed to LMDB yet: each wait joins the same pending batch.
      expect(journal.unflushed).toBe(i + 1);
    }
    await Promise.all(waits);
    expect(batches).toEqual([seqs]);
    for (const seq of seqs) expect(store.journalRecord(seq)).toBeInstanceOf(Uint8Array);
    await store.close();
  });

  it('settles at once past what is committed when nothing is pending, and with a flush() made meanwhile', async () => {
    const { store, journal, batches } = open();
    await journal.whenCommitted();
    expect(batches).toEqual([]);
    journal.accept(envelope(1));
    const wait = journal.whenCommitted();
    let settled = false;
    void wait.then(() => {
      settled = true;
    });
    // An explicit flush (backfill's, a snapshot's) takes the pending records: the wait goes with them.
    await journal.flush();
    await wait;
    expect(settled).toBe(true);
    expect(batches).toHaveLength(1);
    journal.accept(envelope(2));
    journal.accept(envelope(3));
    await journal.whenCommitted();
    expect(batches).toHaveLength(2);
    expect(batches[1]).toHaveLength(2);
    await store.close();
  });
});
