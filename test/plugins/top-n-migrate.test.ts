/**
 * top-users/top-packages version 2 (windowed counters) restores a real version 1 snapshot
 * (linked slice entries, written by the v1 code kept in legacy/) into exactly the state and
 * views version 2 builds from the same messages, and keeps agreeing as time moves on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { topPackages, topUsers } from '../../plugins/top-n.js';
import { samples, type RawEnvelope } from '../helpers/fixtures.js';
import { openSession, type PersistenceSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';
import { harness, rowsOf } from './harness.js';
import { topPackages as topPackagesV1, topUsers as topUsersV1 } from './legacy/top-n-v1.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

// The samples restamped 97 s apart (about 13.7 h): the hour window moves across them, the day holds them all.
const all = samples().map((e, i) => ({ ...e, timestamp: 1_700_000_000 + i * 97 }));
const half = Math.floor(all.length / 2);
const send = (s: PersistenceSession, envelopes: readonly RawEnvelope[]) => {
  for (const e of envelopes)
    for (const rt of s.host.runtimes) rt.send(createPluginMessage(e as unknown as Envelope, deriveMeta));
};
const cases = [{}, { window: 'hour' }, { window: 'day' }, { window: 'week', n: 3 }];
const viewsOf = (runtimes: readonly Parameters<typeof rowsOf>[0][]) =>
  runtimes.map((rt) => cases.map((c) => rowsOf(rt, c)));
const stateOf = (runtimes: readonly Parameters<typeof rowsOf>[0][]) =>
  runtimes.map((rt) =>
    Object.fromEntries(
      Object.entries(rt.inspect().stores).map(([n, s]) => [n, [...s.entries()].sort(([a], [b]) => (a < b ? -1 : 1))]),
    ),
  );

describe('top-n version 1 → 2 migration', () => {
  it('restores a v1 snapshot into the state and views v2 builds from the same messages', async () => {
    const d = tempDir();
    dirs.push(d);
    const v1 = openSession(d.path, [topUsersV1(), topPackagesV1()]);
    send(v1, all.slice(0, half));
    const v1Views = viewsOf(v1.host.runtimes);
    await v1.snapshotter.take();
    await v1.close();

    const fresh = harness([topUsers(), topPackages()]);
    fresh.feed(all.slice(0, half));
    const v2 = openSession(d.path, [topUsers(), topPackages()]);
    expect(v2.report.migrated).toEqual(['top-users', 'top-packages']);
    expect(viewsOf(v2.host.runtimes)).toEqual(viewsOf(fresh.host.runtimes));
    // Not vacuous: v1 ranked something in every window, and v2 answers the same.
    expect(viewsOf(v2.host.runtimes)).toEqual(v1Views);
    for (const rows of v1Views.flat()) expect(rows.length).toBeGreaterThan(0);
    expect(stateOf(v2.host.runtimes)).toEqual(stateOf(fresh.host.runtimes));

    // Time moves on: the migrated slices expire exactly like the ones v2 wrote itself.
    send(v2, all.slice(half));
    fresh.feed(all.slice(half));
    expect(v2.host.runtimes[0]!.inspect().counters.expired).toBeGreaterThan(0);
    expect(viewsOf(v2.host.runtimes)).toEqual(viewsOf(fresh.host.runtimes));
    expect(stateOf(v2.host.runtimes)).toEqual(stateOf(fresh.host.runtimes));
    await v2.snapshotter.take(); // rewrites both plugins whole: the v1 stores leave the disk
    await v2.close();

    const again = openSession(d.path, [topUsers(), topPackages()]);
    expect(again.report.migrated).toEqual([]);
    expect(again.report.meta?.plugins['top-users']).toMatchObject({
      version: 2,
      stores: ['rows', 'hour', 'day', 'week'],
    });
    expect(viewsOf(again.host.runtimes)).toEqual(viewsOf(fresh.host.runtimes));
    await again.close();
    fresh.stop();
  });
});
