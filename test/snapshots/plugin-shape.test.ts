/**
 * A plugin definition changed between runs without a version bump (key columns, columns, a
 * store renamed or turned into another kind) is refused at restore with a coded error naming
 * the plugin and the change, instead of its stored state being misread; the same definition,
 * or a bumped version with a migrate hook, restores. Real LMDB data dirs throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeOf, StatscacheError } from '../../actors/errors.js';
import { definePlugin, rowsOf, store, windowedCounter, type StoreSpecs } from '../../actors/plugin-api.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

type Row = { timestamp: number; owner: string; builds: number; instance?: string };

interface Shape {
  key?: readonly string[];
  columns?: readonly string[];
  stores?: StoreSpecs;
  version?: number;
  migrate?: (s: never, from: number) => never;
}

/** Koji builds per owner, as a third-party author writes it, with the parts a later release may change. */
const builds = (shape: Shape = {}) =>
  definePlugin({
    name: 'Koji builds',
    summary: 's',
    description: 'd',
    version: shape.version ?? 1,
    rows: rowsOf<Row>(),
    columns: shape.columns ?? ['owner', 'builds'],
    key: shape.key ?? ['timestamp', 'owner'],
    stores: shape.stores ?? { totals: store<number>() },
    update(m, { rows, stores }) {
      const owner = String((m.body as { owner?: unknown }).owner);
      const instance = String((m.body as { instance?: unknown }).instance);
      const prev = rows.get(rows.keyOf({ timestamp: m.timestamp, owner, instance }));
      rows.put({ timestamp: m.timestamp, owner, instance, builds: (prev?.builds ?? 0) + 1 });
      const totals = (stores as Record<string, { update?: (k: string, f: (n?: number) => number) => void }>)['totals'];
      totals?.update?.(owner, (n) => (n ?? 0) + 1);
    },
    ...(shape.migrate ? { migrate: shape.migrate } : {}),
  });

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** A data dir holding one snapshot of `builds()` after two messages. */
async function written(): Promise<string> {
  const d = tempDir();
  dirs.push(d);
  const s = openSession(d.path, [builds()], { journalSeq: () => 2 });
  for (const owner of ['ralph', 'kevin'])
    s.host.runtimes[0]?.send(createPluginMessage({ topic: 't', timestamp: 100, msg: { owner } }, deriveMeta));
  await s.snapshotter.take();
  await s.close();
  return d.path;
}

function refusal(dir: string, def: unknown): StatscacheError {
  try {
    openSession(dir, [def]);
  } catch (err) {
    if (err instanceof StatscacheError) return err;
    throw err;
  }
  throw new Error('the changed definition was restored');
}

describe('a plugin definition changed without a version bump', () => {
  it('restores the same definition as it was written', async () => {
    const dir = await written();
    const s = openSession(dir, [builds()]);
    expect([...s.host.runtimes[0]!.inspect().rows.keys()].sort()).toEqual(['100\u001fkevin', '100\u001fralph']);
    expect(s.host.runtimes[0]!.inspect().stores['totals']?.get('ralph')).toBe(1);
    await s.close();
  });

  it('refuses changed key columns and columns, naming the plugin and both lists, with exit 2', async () => {
    const dir = await written();
    const err = refusal(
      dir,
      builds({ key: ['timestamp', 'owner', 'instance'], columns: ['owner', 'instance', 'builds'] }),
    );
    expect(err.code).toBe('SC_SNAPSHOT_SHAPE_CHANGED');
    expect(err.message).toContain('plugin "koji-builds"');
    expect(err.message).toContain('key columns [timestamp, owner] are now [timestamp, owner, instance]');
    expect(err.message).toContain('columns [owner, builds] are now [owner, instance, builds]');
    expect(err.message).toContain('Bump the plugin\'s "version"');
    expect(exitCodeOf(err)).toBe(2);
  });

  it('refuses a renamed store (its entries would be dropped) and a store turned into a windowed counter', async () => {
    const dir = await written();
    expect(refusal(dir, builds({ stores: { builds_total: store<number>() } })).message).toContain(
      'store "totals" (2 entries) is no longer declared',
    );
    expect(refusal(dir, builds({ stores: { totals: windowedCounter('7d', { slices: 7 }) } })).message).toContain(
      'store "totals" changed from store to windowed counter of 86400 s slices',
    );
    expect(refusal(dir, builds({ stores: { totals: store<number>({ expireAfter: '30d' }) } })).message).toContain(
      'store "totals" changed from store to expiring store',
    );
    // The refusals wrote nothing: the original definition still restores its state.
    const s = openSession(dir, [builds()]);
    expect(s.host.runtimes[0]!.inspect().stores['totals']?.get('kevin')).toBe(1);
    await s.close();
  });

  it('takes the change with a version bump and a migrate hook, and records the new shape', async () => {
    const dir = await written();
    const next = { key: ['timestamp', 'owner', 'instance'], columns: ['owner', 'instance', 'builds'] } as const;
    const migrated = openSession(dir, [builds({ ...next, version: 2, migrate: ((s: unknown) => s) as never })], {
      journalSeq: () => 2,
    });
    expect(migrated.report.migrated).toEqual(['koji-builds']);
    await migrated.snapshotter.take();
    await migrated.close();
    const again = openSession(dir, [builds({ ...next, version: 2 })]);
    expect(again.report.restored['koji-builds']).toBe(2);
    await again.close();
  });

  it("stores a migrated row under the key its key columns give, whatever the hook's map key", async () => {
    const dir = await written();
    const next = { key: ['timestamp', 'owner', 'instance'], columns: ['owner', 'instance', 'builds'] } as const;
    // What an author writes: fill the new key column in each row, keep the map as it came.
    const fill = ((s: { rows: Map<string, Row>; stores: Record<string, Map<string, unknown>> }) => ({
      rows: new Map([...s.rows].map(([k, r]) => [k, { ...r, instance: 'primary' }])),
      stores: s.stores,
    })) as never;
    const s = openSession(dir, [builds({ ...next, version: 2, migrate: fill })]);
    const rt = s.host.runtimes[0]!;
    rt.send(
      createPluginMessage({ topic: 't', timestamp: 100, msg: { owner: 'ralph', instance: 'primary' } }, deriveMeta),
    );
    // One row for ralph on the primary instance, counted on from the migrated one.
    expect([...rt.inspect().rows.values()].filter((r) => (r as Row).owner === 'ralph')).toEqual([
      { timestamp: 100, owner: 'ralph', instance: 'primary', builds: 2 },
    ]);
    expect(rt.rowKeyOf({ timestamp: 100, owner: 'kevin', instance: 'primary' } as never)).toBe(
      '100\u001fkevin\u001fprimary',
    );
    expect(rt.inspect().rows.get('100\u001fkevin\u001fprimary')).toMatchObject({ builds: 1 });
    await s.close();
  });

  it('refuses a migrate answer with a store the plugin does not declare, or two rows for one key', async () => {
    const dir = await written();
    const keep = ((s: unknown) => s) as never;
    const renamed = refusal(dir, builds({ version: 2, stores: { builds_total: store<number>() }, migrate: keep }));
    expect(renamed.code).toBe('SC_SNAPSHOT_MIGRATION_FAILED');
    expect(renamed.message).toContain('stores the plugin does not declare ("totals")');
    const merged = refusal(
      dir,
      builds({ version: 2, key: ['timestamp'], columns: ['owner', 'builds'], migrate: keep }),
    );
    expect(merged.message).toMatch(/two rows with the same key columns \[timestamp\].*one would be lost/);
  });
});
