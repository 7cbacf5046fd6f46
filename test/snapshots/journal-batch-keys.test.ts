/**
 * One group commit of many records lands every record under its own keys in all three of the
 * journal's databases: the record by seq, the id index, the time index. A key put with another
 * record's values (a key array shared across a batch's puts, say) would leave an index wrong
 * while each read of one record still looked right, so the indexes are checked against what
 * was accepted, not against another read of the same file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal } from '../helpers/persistence.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('a group commit of many records', () => {
  it('puts each record under its own seq, id and time keys', async () => {
    const { store, journal } = openJournal(dirs);
    const random = mulberry32(11);
    const accepted: { seq: number; id: string; timestamp: number; msgId: string }[] = [];
    // One turn: one transaction. Fractional timestamps, some shared, in no order of seq.
    for (let i = 0; i < 500; i++) {
      const timestamp = 1_700_000_000 + Math.floor(random() * 200) + (random() < 0.5 ? 0.25 : 0);
      const envelope = { topic: 'a.b.c.d', timestamp, msg_id: `k-${i}`, msg: { i } };
      const entry = journal.accept(envelope);
      if (entry === null) throw new Error('a new id taken for a duplicate');
      accepted.push({ seq: entry.seq, id: entry.id, timestamp, msgId: envelope.msg_id });
    }
    await journal.flush();
    expect(journal.entries).toBe(accepted.length);
    for (const a of accepted) {
      expect(journal.get(a.seq)?.envelope.msg_id).toBe(a.msgId);
      expect(journal.getById(a.id)?.seq).toBe(a.seq);
    }
    const byTime = [...accepted].sort((x, y) => x.timestamp - y.timestamp || x.seq - y.seq).map((a) => a.seq);
    expect([...journal.seqsByTime(0, 2e9, 'asc')]).toEqual(byTime);
    for (const a of accepted.slice(0, 50))
      expect(journal.countByTime(a.timestamp, a.timestamp)).toBe(
        accepted.filter((b) => b.timestamp === a.timestamp).length,
      );
    await store.close();
  });
});
