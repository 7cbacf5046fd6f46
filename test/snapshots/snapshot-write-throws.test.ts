/**
 * A snapshot whose writing throws part-way (here: a plugin holds a value whose encoding throws;
 * a BigInt past 64 bits did, until containers refused such values: storable-value.ts). lmdb-js commits the writes a transaction callback made before it threw
 * (checked against lmdb 3.5: the puts land, the promise rejects), so the slot being rewritten
 * kept its old meta record over entries of the new state. Its counts matched, and when the
 * newer generation proved unreadable, restore took that slot for the old generation and replayed
 * the journal after its journalSeq on top of entries that already held those messages.
 * The write is now a child transaction, which LMDB aborts whole when its callback throws.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { failEncoding, tally, unencodable } from '../helpers/fragile-plugin.js';
import { tempDir } from '../helpers/service-process.js';

const T = Math.floor(Date.now() / 1000) - 3600;
const message = (i: number, big = false) => ({
  topic: 'org.fedoraproject.prod.test.tally',
  timestamp: T + i,
  msg_id: `tally-${i}`,
  msg: big ? { big: true } : {},
});

describe('a snapshot write that throws part-way', () => {
  const data = tempDir();
  const config = loadConfig({ env: {}, flags: { dataDir: data.path, port: 0, snapshotGenerations: 2 } });
  const build = () =>
    Service.build({ config, logger: createLogger('silent'), plugins: [tally, unencodable], checkDataFile: false });
  afterAll(() => data.remove());

  it('leaves no slot that restore takes for a generation it is not', async () => {
    const service = await build();
    await service.recover();
    let i = 0;
    const take = async (n: number, big = false) => {
      for (let k = 0; k < n; k++) service.accept(message(i++, big && k === n - 1) as never);
      await service.settled();
      failEncoding(big);
      try {
        return await service.snapshot();
      } finally {
        failEncoding(false);
      }
    };
    const first = await take(10);
    const second = await take(10);
    expect([first.slot, second.slot]).toEqual([1, 0]);
    // Tally's entries go into the first generation's slot, then the other plugin's value throws.
    await expect(take(10, true)).rejects.toThrow(/failed to encode/);
    // Gone without a final snapshot, as by SIGKILL: the journal holds all 30.
    await service.close();

    // The newest generation proves unreadable: a byte of tally's store entry flipped.
    const store = new DataStore(data.path);
    for (const { key, value } of store.slotRaw(second.slot)) {
      const k = key as unknown[];
      if (k[1] !== 'e' || k[2] !== 'tally' || k[3] !== 'n') continue;
      const bytes = Buffer.from(value);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      await store.putRaw(key, bytes);
    }
    const metas = store.slots().map((s) => decodeChecked(store.readSlotMeta(s) as Uint8Array) as SnapshotMeta);
    await store.close();
    // The slot the failed write began still holds generation 1 whole (the write is a child
    // transaction, aborted on the throw). Before f43fbee: generation 1's meta over tally's count
    // of 30; with f43fbee: no meta, so no generation at all.
    expect(metas.map((m) => m.generation)).toEqual([second.generation, first.generation]);

    const again = await build();
    try {
      await again.recover();
      const tallied = again.host.get('tally')?.inspect().stores['n']?.get('all');
      // Before: the first generation's meta over tally's count of 30, and 20 replayed on top: 50.
      expect(tallied).toBe(30);
    } finally {
      await again.close();
    }
  }, 30_000);

  it('a paced write that throws after a yield: its entries undone, journal appends made meanwhile kept', async () => {
    const dir = tempDir();
    const store = new DataStore(dir.path);
    try {
      let appended: Promise<void> | null = null;
      const failed = store.writeSnapshot(async (batch) => {
        batch.put(0, 'tally', 'n', 'all', new Uint8Array([1]));
        batch.putMeta(0, new Uint8Array([2]));
        await new Promise<void>((resolve) => setImmediate(resolve));
        // An append while the snapshot's transaction is open runs in the parent, after it.
        appended = store.appendJournal([{ seq: 1, id: 'm1', timestamp: T, value: new Uint8Array([7]) }]);
        await new Promise<void>((resolve) => setImmediate(resolve));
        throw new Error('unencodable');
      });
      await expect(failed).rejects.toThrow(/unencodable/);
      await appended;
      expect([...(store.journalRecord(1) ?? [])]).toEqual([7]);
      expect(store.seqOfId('m1')).toBe(1);
      // A plain transaction committed both the entry and the meta before the throw.
      expect([...store.slotRaw(0)]).toEqual([]);
    } finally {
      await store.close();
      dir.remove();
    }
  });

  it('snapshot import: a throw part-way undoes the journal moves and appends with the state', async () => {
    const dir = tempDir();
    const store = new DataStore(dir.path);
    try {
      const record = (seq: number) => ({ seq, id: `m${seq}`, timestamp: T + seq, value: new Uint8Array([seq]) });
      await store.appendJournal([record(1), record(2), record(3)]);
      const failed = store.writeSnapshotMovingJournal(
        [{ from: 2, to: 5, id: 'm2', timestamp: T + 2 }],
        (batch) => {
          batch.put(0, 'tally', 'rows', 'all', new Uint8Array([9]));
          throw new Error('a key LMDB refuses');
        },
        [record(4)],
      );
      await expect(failed).rejects.toThrow(/a key LMDB refuses/);
      // Before: record 2 moved to 5 and record 4 appended, with no generation claiming them.
      expect([1, 2, 3, 4, 5].map((seq) => store.journalRecord(seq) !== undefined)).toEqual([
        true,
        true,
        true,
        false,
        false,
      ]);
      expect(store.seqOfId('m2')).toBe(2);
      expect([...store.slotRaw(0)]).toEqual([]);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
