import { afterEach, describe, expect, it } from 'vitest';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { Snapshotter } from '../../snapshots/snapshotter.js';
import { openSession } from '../helpers/persistence.js';
import { type PerUserRow, perUserPlugin } from '../helpers/per-user-plugin.js';
import { tempDir } from '../helpers/service-process.js';

/** One row per user plus a per-user total in a store: two containers, so both are chunked. */
const perUser = perUserPlugin('Per user', (m, { rows, stores }) => {
  const user = (m.body as { user: string }).user;
  rows.put({ timestamp: m.timestamp, user, n: (rows.get(rows.keyOf({ user }))?.n ?? 0) + 1 });
  if (user.startsWith('gone')) rows.delete(rows.keyOf({ user }));
  stores.totals.update(user, (n) => (n ?? 0) + 1);
});

const msg = (user: string, timestamp: number) =>
  createPluginMessage({ topic: 'a.b.c.d', timestamp, msg: { user } }, deriveMeta);
const KEYS = 5_000;

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('a snapshot in bounded chunks', () => {
  it('yields to the event loop between chunks, keeps serving meanwhile, and still writes the state of one instant', async () => {
    const d = tempDir();
    dirs.push(d);
    let yields = 0;
    let sentDuring = 0;
    let rt: ReturnType<typeof openSession>['host']['runtimes'][number] | undefined;
    const a = openSession(d.path, [perUser], {
      slots: 1,
      chunk: {
        chunkEntries: 500,
        onYield: () => {
          yields++;
          // Live messages keep arriving while the snapshot is written: they must not leak into it.
          if (yields === 3) {
            rt?.send(msg('u1', 2_000));
            rt?.send(msg('late-user', 2_000));
            rt?.send(msg('gone-u2', 2_000));
            sentDuring = 3;
          }
        },
      },
    });
    rt = a.host.runtimes[0]!;
    for (let i = 0; i < KEYS; i++) rt.send(msg(`u${i}`, 1_000 + i));
    const atCut = {
      rows: [...rt.inspect().rows.entries()].sort(),
      totals: [...rt.inspect().stores['totals']!.entries()].sort(),
    };

    // Other event-loop work runs while the snapshot is in progress: count the turns it got.
    let turns = 0;
    let done = false;
    const spin = () =>
      setImmediate(() => {
        if (done) return;
        turns++;
        spin();
      });
    spin();
    const first = await a.snapshotter.take();
    done = true;
    // 2 × 5 000 entries in chunks of at most 500: at least 19 yields, each a turn for other work.
    expect(first.written).toBe(2 * KEYS);
    expect(first.yields).toBeGreaterThanOrEqual(19);
    expect(yields).toBe(first.yields);
    expect(turns).toBeGreaterThanOrEqual(first.yields!);
    expect(sentDuring).toBe(3);
    // The longest turn of snapshot work is one of the turns the snapshot took, the cut among them.
    expect(first.longestTurnMs).toBeGreaterThanOrEqual(first.cutMs!);
    expect(first.longestTurnMs).toBeLessThanOrEqual(first.durationMs);
    // The three messages sent during the snapshot were applied live, not held back.
    expect((rt.inspect().rows.get(rt.inspect().rows.keyOf({ user: 'u1' })) as PerUserRow | undefined)?.n).toBe(2);
    await a.close();

    // The generation holds the state at its cut, without what arrived while it was written.
    const b = openSession(d.path, [perUser], { slots: 1 });
    const rb = b.host.runtimes[0]!;
    expect(b.report.meta?.generation).toBe(1);
    expect({
      rows: [...rb.inspect().rows.entries()].sort(),
      totals: [...rb.inspect().stores['totals']!.entries()].sort(),
    }).toEqual(atCut);
    // The next snapshot writes exactly the keys changed since: rows u1 and late-user, gone-u2 removed, three totals.
    for (const user of ['u1', 'late-user', 'gone-u2']) rb.send(msg(user, 3_000));
    const second = await b.snapshotter.take();
    expect({ written: second.written, removed: second.removed }).toEqual({ written: 5, removed: 1 });
    await b.close();
  });

  it('reads the clock every few entries and clears a slot in small steps, so no stretch between two checks is long', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = openSession(d.path, [perUser], { slots: 1 });
    const rt = a.host.runtimes[0]!;
    const users = 1_000;
    for (let i = 0; i < users; i++) rt.send(msg(`u${i}`, 1_000 + i));
    expect((await a.snapshotter.take()).written).toBe(2 * users);
    // A snapshotter that knows nothing of the slot rewrites it whole: it first clears the 2 000 entries there.
    let yields = 0;
    const fresh = new Snapshotter(
      a.host.runtimes,
      a.store,
      {
        slots: 1,
        now: () => 0,
        position: () => ({ journalSeq: 0, newestTimestamp: 0, publishers: {} }),
        // Every read of the clock finds the budget spent: the yields count the reads.
        chunkMs: 0,
        onYield: () => yields++,
      },
      { meta: null, migrated: [], retained: {} },
    );
    const whole = await fresh.take();
    expect(whole.written).toBe(2 * users);
    expect(whole.yields).toBe(yields);
    // At least one read per 64 entries cleared and one per 8 written (not one per 2 048 cleared and 64 written).
    expect(yields).toBeGreaterThanOrEqual(Math.floor((2 * users) / 64) + (2 * users) / 8);
    const atCut = [...rt.inspect().rows.entries()].sort();
    await a.close();
    const b = openSession(d.path, [perUser], { slots: 1 });
    expect(b.report.meta?.generation).toBe(1);
    expect([...b.host.runtimes[0]!.inspect().rows.entries()].sort()).toEqual(atCut);
    expect(b.host.runtimes[0]!.inspect().stores['totals']!.size).toBe(users);
    await b.close();
  });
});
