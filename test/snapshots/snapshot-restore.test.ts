import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { listSlots, readGeneration } from '../../src/commands/generations.js';
import { runCli } from '../commands/cli.js';
import type { SnapshotReport } from '../../snapshots/snapshotter.js';
import { openSession } from '../helpers/persistence.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { tempDir } from '../helpers/service-process.js';

type Row = { timestamp: number; topic: string; n: number };

const counter = (version: number, migrate?: (s: never, from: number) => never) =>
  definePlugin({
    name: 'Counter',
    summary: 's',
    description: 'd',
    version,
    rows: rowsOf<Row>(),
    columns: ['topic', 'n'],
    key: ['topic'],
    stores: { seen: store<number>() },
    update(m, { rows, stores }) {
      rows.set(m.topic, { timestamp: m.timestamp, topic: m.topic, n: (rows.get(m.topic)?.n ?? 0) + 1 });
      stores.seen.update('all', (n) => (n ?? 0) + 1);
    },
    ...(migrate ? { migrate } : {}),
  });

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

let seq = 0;
async function session(dir: string, def: unknown, topics: string[], slots = 1, chunkEntries?: number) {
  const s = openSession(dir, [def], {
    slots,
    journalSeq: () => seq,
    ...(chunkEntries ? { chunk: { chunkEntries } } : {}),
  });
  topics.forEach((t, i) => {
    seq++;
    s.host.runtimes[0]?.send(createPluginMessage({ topic: t, timestamp: 100 + i, msg: {} }, deriveMeta));
  });
  return { ...s, snap: s.snapshotter, rt: s.host.runtimes[0]! };
}

/** One message to the session's plugin, then a snapshot. */
async function hitAndTake(s: Awaited<ReturnType<typeof session>>, topic: string): Promise<SnapshotReport> {
  seq++;
  s.rt.send(createPluginMessage({ topic, timestamp: 100 + seq, msg: {} }, deriveMeta));
  return s.snap.take();
}

const sorted = (rows: Iterable<[string, unknown]>) => [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Four generations of `counter` in three slots (1, 2, 0, 1), each older slot holding an older
 * count of t.a (4 last), plus 100 rows (more than one step of a copy); its rows at the end.
 */
async function fourGenerations(dir: string): Promise<[string, unknown][]> {
  const a = await session(dir, counter(1), [], 3);
  for (let i = 0; i < 100; i++) {
    seq++;
    a.rt.send(createPluginMessage({ topic: `t.${String(i).padStart(3, '0')}`, timestamp: 100, msg: {} }, deriveMeta));
  }
  for (let i = 0; i < 4; i++) await hitAndTake(a, 't.a');
  expect((a.rt.inspect().rows.get('t.a') as Row).n).toBe(4);
  expect(a.snap.currentGeneration).toBe(4);
  const rows = sorted(a.rt.inspect().rows.entries());
  await a.close();
  return rows;
}

describe('snapshots', () => {
  it('round-trips state and writes only what changed since the last snapshot', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = await session(d.path, counter(1), ['t.a', 't.b', 't.a']);
    const first = await a.snap.take();
    expect(first).toMatchObject({ generation: 1, written: 3, removed: 0 }); // rows t.a, t.b + store key "all"
    seq++;
    a.rt.send(createPluginMessage({ topic: 't.b', timestamp: 200, msg: {} }, deriveMeta));
    const second = await a.snap.take();
    expect(second).toMatchObject({ generation: 2, written: 2 }); // row t.b and the store key only
    expect((await a.snap.take()).written).toBe(0);
    await a.close();

    const b = await session(d.path, counter(1), []);
    expect(b.report.meta?.generation).toBe(2);
    expect([...b.rt.inspect().rows.entries()]).toEqual([...a.rt.inspect().rows.entries()].sort());
    expect(b.rt.inspect().stores['seen']?.get('all')).toBe(4);
    await b.close();
  });

  it('migrates older state through the plugin hook and refuses state newer than the code', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = await session(d.path, counter(1), ['t.a']);
    await a.snap.take();
    await a.close();

    await expect(session(d.path, counter(2), [])).rejects.toThrow(/SC_SNAPSHOT_MIGRATION_FAILED.*no migrate hook/);
    // A hook whose answer lacks its stores is refused by name, not taken for a damaged generation (which started empty).
    await expect(
      session(d.path, counter(2, ((s: { rows: Map<string, Row> }) => ({ rows: s.rows })) as never), []),
    ).rejects.toThrow(/SC_SNAPSHOT_MIGRATION_FAILED.*migrate from version 1 returned no object in "stores"/);
    // A plain function answering with a promise that rejects: refused by name; left unhandled, its rejection ended the process.
    await expect(
      session(d.path, counter(2, (() => Promise.reject(new Error('async migrate'))) as never), []),
    ).rejects.toThrow(/SC_SNAPSHOT_MIGRATION_FAILED.*migrate from version 1 threw: it returned a promise/);
    const migrated = await session(
      d.path,
      counter(2, ((s: { rows: Map<string, Row> }, from: number) => {
        expect(from).toBe(1);
        return { rows: new Map([...s.rows].map(([k, r]) => [k.toUpperCase(), { ...r, n: r.n * 10 }])), stores: {} };
      }) as never),
      [],
    );
    expect(migrated.report.migrated).toEqual(['counter']);
    // The hook's map keys are only transport: each row is stored under the key its key columns give.
    expect([...migrated.rt.inspect().rows.entries()]).toEqual([['t.a', { timestamp: 100, topic: 't.a', n: 10 }]]);
    await migrated.snap.take(); // rewrites the plugin whole
    await migrated.close();

    const again = await session(d.path, counter(2), []);
    expect([...again.rt.inspect().rows.keys()]).toEqual(['t.a']);
    expect(again.rt.inspect().rows.get('t.a')).toMatchObject({ n: 10 });
    await again.close();
    await expect(session(d.path, counter(1), [])).rejects.toThrow(/SC_SNAPSHOT_TOO_NEW.*"counter".*version 2/);
  });

  it('with one generation, reports an unreadable entry by plugin and key and starts without it', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = await session(d.path, counter(1), ['t.a']);
    await a.snap.take();
    // Fails its checksum (written raw: a snapshot write that touches a slot's entries drops its meta until it puts one).
    await a.store.putRaw([0, 'e', 'counter', 'rows', 't.a'], Buffer.from([0xc1, 0, 0, 0, 0, 0, 0, 0, 0xc1]));
    await a.close();
    const b = await session(d.path, counter(1), []);
    expect(b.report.meta).toBeNull();
    expect(b.report.fallbacks).toEqual([
      { slot: 0, generation: 1, reason: expect.stringMatching(/plugin "counter".*"t\.a".*checksum/) },
    ]);
    await b.close();
  });

  it('keeps state of plugins that are not loaded', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = await session(d.path, counter(1), ['t.a']);
    await a.snap.take();
    await a.close();
    const other = definePlugin({ ...counter(1), name: 'Other' });
    const b = await session(d.path, other, ['x']);
    expect(Object.keys(b.report.retained)).toEqual(['counter']);
    await b.snap.take();
    await b.close();
    const c = await session(d.path, counter(1), []);
    expect((c.rt.inspect().rows.get('t.a') as Row | undefined)?.n).toBe(1);
    await c.close();
  });

  it('keeps a plugin that is not loaded exactly as it was through generations written in every slot', async () => {
    const d = tempDir();
    dirs.push(d);
    const before = await fourGenerations(d.path);
    const other = definePlugin({ ...counter(1), name: 'Other' });
    // Two runs without counter: generations 5-8 (slots 2, 0, 1, 2), then 9-11 from the copy in slot 2;
    // chunks of 16 entries, so a copy spans several turns of its transaction.
    const reports: SnapshotReport[][] = [];
    for (const gens of [4, 3]) {
      const b = await session(d.path, other, [], 3, 16);
      expect(Object.keys(b.report.retained)).toEqual(['counter']);
      const run: SnapshotReport[] = [];
      for (let i = 0; i < gens; i++) run.push(await hitAndTake(b, 'x'));
      reports.push(run);
      await b.close();
    }
    const c = await session(d.path, counter(1), [], 3);
    expect(c.report.meta).toMatchObject({ generation: 11, slot: 2 });
    expect(c.report.fallbacks).toEqual([]);
    expect((c.rt.inspect().rows.get('t.a') as Row | undefined)?.n).toBe(4);
    expect(c.rt.inspect().stores['seen']?.get('all')).toBe(104);
    expect(sorted(c.rt.inspect().rows.entries())).toEqual(before);
    // Every generation kept holds that state, so a fallback to an older one finds it too.
    const slots = listSlots(c.store);
    expect(slots.map((s) => (s.ok ? s.meta.generation : s.problem))).toEqual([11, 10, 9]);
    for (const s of slots) {
      if (!s.ok) continue;
      const gen = readGeneration(c.store, s.slot, s.meta, ['counter']);
      expect({ generation: s.meta.generation, errors: gen.errors, rows: gen.plugins['counter']?.rows }).toEqual({
        generation: s.meta.generation,
        errors: [],
        rows: before,
      });
    }
    // Other's 2 entries per snapshot, plus counter's 102 copied once into each slot the run had not read them from.
    expect(reports.map((run) => run.map((r) => r.written))).toEqual([
      [104, 104, 2, 2],
      [104, 104, 2],
    ]);
    for (const r of reports.flat()) if (r.written > 2) expect(r.yields).toBeGreaterThan(0);
    await c.close();
  });

  it('keeps a plugin that is not loaded when the slot it was restored from is retired (--snapshot-generations lowered)', async () => {
    const d = tempDir();
    dirs.push(d);
    // Five generations in three slots: the newest, 5, in slot 2.
    const a = await session(d.path, counter(1), [], 3);
    for (let i = 0; i < 5; i++) await hitAndTake(a, 't.a');
    await a.close();
    const other = definePlugin({ ...counter(1), name: 'Other' });
    // Two generations now: 6 goes to slot 0 (the copy), slot 2 is retired as the service does
    // after that snapshot, and 7 goes to slot 1, which must get the copy all the same.
    const b = await session(d.path, other, [], 2);
    expect(b.report.meta).toMatchObject({ generation: 5, slot: 2 });
    await hitAndTake(b, 'x');
    while ((await b.store.clearSlotSome(2, 1000)) > 0);
    await b.store.dropSlotMeta(2);
    await hitAndTake(b, 'x');
    await b.close();
    const c = await session(d.path, counter(1), [], 2);
    expect(c.report.meta).toMatchObject({ generation: 7, slot: 1 });
    expect(c.report.fallbacks).toEqual([]);
    expect((c.rt.inspect().rows.get('t.a') as Row | undefined)?.n).toBe(5);
    await c.close();
  });

  it('keeps a plugin that is not loaded through `journal replay`', async () => {
    const d = tempDir();
    dirs.push(d);
    const before = await fourGenerations(d.path);
    // The CLI loads the built-in plugins only: counter is not among them.
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', d.path]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/wrote generation 5 \(slot 2,/);
    const c = await session(d.path, counter(1), [], 3);
    expect(c.report.meta).toMatchObject({ generation: 5, slot: 2 });
    expect(c.report.fallbacks).toEqual([]);
    expect((c.rt.inspect().rows.get('t.a') as Row | undefined)?.n).toBe(4);
    expect(c.rt.inspect().stores['seen']?.get('all')).toBe(104);
    expect(sorted(c.rt.inspect().rows.entries())).toEqual(before);
    await c.close();
  });
});
