import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { messageId } from '../../snapshots/journal-record.js';
import type { Envelope } from '../../src/envelope.js';
import { samples } from '../helpers/fixtures.js';
import { openJournal } from '../helpers/persistence.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** The 510 real envelopes, journaled in file order (record sizes vary from ~200 bytes to several KB). */
async function journalOfSamples() {
  const { store, journal } = openJournal(dirs);
  const envelopes = samples().map((e, i) => ({ ...e, timestamp: 1_700_000_000 + i }) as Envelope);
  for (const e of envelopes) expect(journal.accept(e)).not.toBeNull();
  await journal.flush();
  return { store, journal, envelopes };
}

describe('journal reads at replay', () => {
  it('give back every record as accepted, each intact after later records are read through the same buffer', async () => {
    const { store, journal, envelopes } = await journalOfSamples();
    // Collected first, compared after: an entry still pointing into LMDB's reused read buffer
    // would show a later record's bytes by now.
    const entries = [...journal.after(0, { remember: false })];
    expect(entries.map((e) => e.seq)).toEqual(envelopes.map((_, i) => i + 1));
    entries.forEach((entry, i) => {
      expect(entry.envelope).toEqual(envelopes[i]);
      expect(entry.id).toBe(messageId(envelopes[i] as Envelope));
    });
    // A read from the middle starts at the next seq.
    expect([...journal.after(500, { remember: false })].map((e) => e.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 501 + i),
    );
    expect(journal.corrupt).toBe(0);
    await store.close();
  });

  it("give back records larger than LMDB's shared read buffer, between small ones", async () => {
    const { store, journal } = openJournal(dirs);
    const sizes = [10, 70_000, 10, 300_000, 2_000_000, 10];
    const envelopes = sizes.map(
      (n, i) =>
        ({ topic: 'a.b.c.d', timestamp: 1_000 + i, msg_id: `big-${i}`, msg: { text: 'é'.repeat(n) } }) as Envelope,
    );
    for (const e of envelopes) journal.accept(e);
    await journal.flush();
    const entries = [...journal.after(0, { remember: false, shape: { maxDepth: 64, maxKeys: 100 } })];
    expect(entries.map((e) => e.envelope)).toEqual(envelopes);
    expect(entries.every((e) => e.withinShape !== undefined)).toBe(true);
    expect(journal.corrupt).toBe(0);
    await store.close();
  });

  it('count and skip a record whose stored bytes changed, and replay every other one', async () => {
    const { store, journal, envelopes } = await journalOfSamples();
    const stored = store.journalRecord(200) as Uint8Array;
    const bad = Buffer.from(stored);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01;
    store.putSalvaged('journal', [{ key: 200, value: bad }]);
    // A record cut short (a torn write) is damaged too.
    store.putSalvaged('journal', [
      { key: 300, value: Buffer.from(store.journalRecord(300) as Uint8Array).subarray(0, 40) },
    ]);
    const entries = [...journal.after(0, { remember: false })];
    expect(entries).toHaveLength(envelopes.length - 2);
    expect(entries.map((e) => e.seq)).not.toContain(200);
    expect(entries.map((e) => e.seq)).not.toContain(300);
    expect(entries.find((e) => e.seq === 201)?.envelope).toEqual(envelopes[200]);
    expect(journal.corrupt).toBe(2);
    await store.close();
  });

  it('hold every stored envelope to the bounds configured today, however it was journaled', async () => {
    // Journal.accept checks no shape: records as an older version, or looser settings, left them.
    const { dir, store, journal } = openJournal(dirs);
    const now = Math.floor(Date.now() / 1000);
    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    const at = (i: number, msg: unknown) =>
      ({ topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now - 100 + i, msg_id: `m-${i}`, msg }) as Envelope;
    const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    // Envelope depth is 1 + the msg's; envelope members are 4 + the msg's.
    journal.accept(at(0, nest(15))); // depth 16: within
    journal.accept(at(1, nest(16))); // depth 17: too deep for 16
    // Replay allows the 2 members intake may add after its check (the topic, the timestamp).
    journal.accept(at(2, wide(1_998))); // 4 + 1 998 = 2 002 members: within 2 000 + 2
    journal.accept(at(3, wide(1_999))); // 2 003: too many for 2 000 + 2
    journal.accept(at(4, { b: new Uint8Array(3000) })); // a typed array: 3 000 indexes to walk, too many
    journal.accept(at(5, { ok: [1, 2, 3] }));
    await journal.flush();
    await store.close();

    const replay = async (flags: Record<string, number>) => {
      const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, ...flags } });
      const service = await Service.build({ config, logger: pino({ level: 'silent' }) as never });
      await service.recover();
      const counters = { ...service.counters };
      await service.close();
      return counters;
    };
    expect(await replay({ maxMessageDepth: 16, maxMessageKeys: 2_000 })).toMatchObject({
      replayed: 3,
      replayRejected: 3,
    });
    expect(await replay({})).toMatchObject({ replayed: 6, replayRejected: 0 });
    expect(await replay({ maxMessageDepth: 8 })).toMatchObject({ replayed: 4, replayRejected: 2 });
  });
});
