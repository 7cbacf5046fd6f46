/**
 * Snapshotter.cancel(), which Service.close() calls: the snapshot being written stops at its next
 * chunk boundary. A first attempt threw a plain error from the pacer, which the store's checked()
 * took for a failed commit: a WriteFailedError, the store's write-failed flag set (after which
 * close() skips its flush), as for a failing disk. Real LMDB; chunks of 100 entries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { WriteFailedError } from '../../snapshots/lmdb-store.js';
import { SnapshotCancelledError } from '../../snapshots/snapshotter.js';
import { openSession } from '../helpers/persistence.js';
import { perUserPlugin } from '../helpers/per-user-plugin.js';
import { tempDir } from '../helpers/service-process.js';

const perUser = perUserPlugin('Per user', (m, { rows, stores }) => {
  const user = (m.body as { user: string }).user;
  rows.put({ timestamp: m.timestamp, user, n: (rows.get(rows.keyOf({ user }))?.n ?? 0) + 1 });
  stores.totals.update(user, (n) => (n ?? 0) + 1);
});

const msg = (user: string, timestamp: number) =>
  createPluginMessage({ topic: 'a.b.c.d', timestamp, msg: { user } }, deriveMeta);
const KEYS = 2_000;

const stateOf = (rt: PluginRuntime) => ({
  rows: [...rt.inspect().rows.entries()].sort(),
  totals: [...(rt.inspect().stores['totals']?.entries() ?? [])].sort(),
});

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('a snapshot cancelled between chunks', () => {
  it('stops at its next chunk, commits nothing of it, fails no write, and refuses every later one', async () => {
    const d = tempDir();
    dirs.push(d);
    let yields = 0;
    let atYield = () => {};
    const a = openSession(d.path, [perUser], {
      slots: 2,
      chunk: {
        chunkEntries: 100,
        onYield: () => {
          yields++;
          atYield();
        },
      },
    });
    const rt = a.host.runtimes[0] as PluginRuntime;
    for (let i = 0; i < KEYS; i++) rt.send(msg(`u${i}`, 1_000 + i));
    const first = await a.snapshotter.take();
    expect({ generation: first.generation, slot: first.slot }).toEqual({ generation: 1, slot: 1 });
    const atFirst = stateOf(rt);
    // Every key changes: the next generation (slot 0, never written) is 2 × KEYS entries, 40 chunks.
    for (let i = 0; i < KEYS; i++) rt.send(msg(`u${i}`, 2_000 + i));

    yields = 0;
    atYield = () => {
      if (yields === 2) a.snapshotter.cancel();
    };
    const err = await a.snapshotter.take().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SnapshotCancelledError);
    expect(err).not.toBeInstanceOf(WriteFailedError);
    expect(yields).toBe(2);
    expect(a.snapshotter.currentGeneration).toBe(1);
    // No failed commit: the flag that makes close() skip LMDB's flush (store-commits.ts) stays clear.
    expect((a.store as unknown as { writeFailed: boolean }).writeFailed).toBe(false);
    // Its child transaction aborted: the 200 entries it had put are not in its slot.
    expect([...a.store.slotRaw(0)]).toEqual([]);
    expect(a.store.slots()).toEqual([1]);

    // Refused from now on, before any work.
    yields = 0;
    await expect(a.snapshotter.take()).rejects.toBeInstanceOf(SnapshotCancelledError);
    expect(yields).toBe(0);
    await a.close();

    const b = openSession(d.path, [perUser], { slots: 2 });
    try {
      expect(b.report.meta?.generation).toBe(1);
      expect(stateOf(b.host.runtimes[0] as PluginRuntime)).toEqual(atFirst);
    } finally {
      await b.close();
    }
  });
});
