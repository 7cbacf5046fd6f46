/**
 * A disk that hangs (an NFS or iSCSI server gone, a device stuck in D state) fails no write: the
 * writes just never settle. DataStore.writesWaiting() ages the oldest journal append not yet
 * settled and the snapshot write in progress, for /readyz (--disk-hang-timeout). Real LMDB
 * files; the hang is another process holding LMDB's write lock, stopped (hold-write-lock.mjs).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { holdWriteLock, type WriteLockHolder } from '../helpers/write-lock-holder.js';

const record = (seq: number) => ({ seq, id: `m-${seq}`, timestamp: 1_700_000_000 + seq, value: new Uint8Array([seq]) });

describe('DataStore.writesWaiting', () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const open = (now?: () => number) => {
    const dir = tempDir();
    const store = new DataStore(dir.path, now ? { now } : {});
    cleanup.push(
      () => dir.remove(),
      async () => {
        await store.close();
      },
    );
    return { dir, store };
  };

  it('ages a journal append and a snapshot write the disk does not finish, and forgets them once they settle', async () => {
    const { dir, store } = open();
    await store.appendJournal([record(1)]);
    let holder: WriteLockHolder | null = await holdWriteLock(dir.path);
    cleanup.push(() => holder?.kill());
    const appended = store.appendJournal([record(2)]);
    const snapshot = store.writeSnapshot((batch) => batch.putMeta(0, new Uint8Array([1])));
    const waited = await eventually(
      () => {
        const w = store.writesWaiting();
        return (w.journal ?? 0) >= 500 && (w.snapshot ?? 0) >= 500 ? w : undefined;
      },
      10_000,
      'both writes waiting half a second',
    );
    expect(waited.journal).toBeGreaterThanOrEqual(500);
    await holder.release();
    holder = null;
    await Promise.all([appended, snapshot]);
    expect(store.writesWaiting()).toEqual({ journal: null, snapshot: null });
    expect([...(store.journalRecord(2) ?? [])]).toEqual([2]);
    expect([...(store.readSlotMeta(0) ?? [])]).toEqual([1]);
  });

  it('a snapshot called while an append waits on the disk does not make that append younger', async () => {
    let clock = 0;
    const { dir, store } = open(() => clock);
    let holder: WriteLockHolder | null = await holdWriteLock(dir.path);
    cleanup.push(() => holder?.kill());
    const appended = store.appendJournal([record(1)]);
    clock = 10_000;
    const snapshot = store.writeSnapshot((batch) => batch.putMeta(0, new Uint8Array([1])));
    clock = 15_000;
    expect(store.writesWaiting()).toEqual({ journal: 15_000, snapshot: 5_000 });
    await holder.release();
    holder = null;
    await Promise.all([appended, snapshot]);
    expect(store.writesWaiting()).toEqual({ journal: null, snapshot: null });
  });

  it('a snapshot whose fill goes on writing waits on nothing, nor do appends queued behind it; a quiet store waits on nothing however long', async () => {
    let clock = 0;
    const { store } = open(() => clock);
    const seen: { journal: number | null; snapshot: number | null }[] = [];
    let queued: Promise<void> | null = null;
    // 100 s of fill (clock time), an entry every 10 s: longer than any --disk-hang-timeout default.
    const snapshot = store.writeSnapshot(async (batch) => {
      for (let i = 0; i < 10; i++) {
        clock += 10_000;
        batch.put(0, 'p', 's', `k${i}`, new Uint8Array([i]));
        if (i === 2) queued = store.appendJournal([record(1)]);
        seen.push(store.writesWaiting());
        await nextTurn();
      }
      batch.putMeta(0, new Uint8Array([9]));
    });
    await snapshot;
    await queued;
    expect(seen).toHaveLength(10);
    for (const w of seen) expect(w.snapshot).toBe(0);
    // The append queued at the third entry waits on the fill: never older than one step of it.
    for (const w of seen.slice(3)) expect(w.journal).toBe(0);
    expect(store.writesWaiting()).toEqual({ journal: null, snapshot: null });
    clock += 600_000;
    expect(store.writesWaiting()).toEqual({ journal: null, snapshot: null });
  });
});
