/**
 * A plugin's quarantine (and the update errors in a row that lead to it, and the probation
 * after it) is part of its state: two replicas fed the same messages, one restarted from a
 * snapshot anywhere in the sequence, must drop and apply the same messages and end with equal
 * views and digests. Snapshots written before these were kept still restore (healthy).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { decodeChecked, encodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { fragile, msg } from '../helpers/fragile-plugin.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

const OPTIONS = { quarantineAfter: 3, quarantineSeconds: 600 };
const ok = (t: number) => msg('a.b.c.ok', t);
const boom = (t: number) => msg('a.b.c.boom', t);

/**
 * Two errors in a row, then a quarantine at 40 (cool-down to 640) with good messages dropped
 * inside it; at 640 a failure on probation quarantines again (to 1240); at 1240 a success makes
 * it healthy; then errors that stop short of a quarantine, and good messages.
 */
const SEQUENCE = [
  ok(10),
  boom(20),
  boom(30),
  boom(40),
  ok(100),
  ok(300),
  ok(639),
  boom(640),
  ok(700),
  ok(1239),
  ok(1240),
  boom(1250),
  boom(1260),
  ok(1270),
  boom(1280),
  boom(1290),
  ok(1300),
  ok(1310),
];

const viewOf = (rt: PluginRuntime) => rt.query({ order: 'asc', page: 1, rowsPerPage: 100, params: {} }).rows;

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function straightThrough(messages = SEQUENCE): { rt: PluginRuntime; states: string[] } {
  const host = new PluginHost(registerPlugins([fragile]), () => {}, OPTIONS);
  host.live();
  const rt = host.runtimes[0]!;
  const states: string[] = [];
  for (const m of messages) {
    rt.send(m);
    states.push(rt.lifecycleState);
  }
  return { rt, states };
}

describe('quarantine across a snapshot (real LMDB)', () => {
  it('a replica restarted at any point of the sequence drops and applies what one that ran straight through does', async () => {
    const straight = straightThrough();
    // The sequence does what it says: two quarantines, 5 good messages dropped, and healthy at the end.
    const [L, Q] = ['live', 'quarantined'];
    expect(straight.states).toEqual([L, L, L, Q, Q, Q, Q, Q, Q, Q, L, L, L, L, L, L, L, L]);
    expect(straight.rt.stats().counters.dropped).toMatchObject({ quarantined: 5, update_error: 8 });
    expect(straight.rt.lifecycleState).toBe('live');

    const diverged: string[] = [];
    for (let cut = 1; cut < SEQUENCE.length; cut++) {
      const d = tempDir();
      dirs.push(d);
      const a = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
      a.host.live();
      for (const m of SEQUENCE.slice(0, cut)) a.host.runtimes[0]!.send(m);
      await a.snapshotter.take();
      await a.close();

      const b = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
      b.host.live();
      const rt = b.host.runtimes[0]!;
      const states: string[] = [];
      for (const m of SEQUENCE.slice(cut)) {
        rt.send(m);
        states.push(rt.lifecycleState);
      }
      if (
        JSON.stringify(states) !== JSON.stringify(straight.states.slice(cut)) ||
        JSON.stringify(viewOf(rt)) !== JSON.stringify(viewOf(straight.rt)) ||
        rt.digest !== straight.rt.digest
      )
        diverged.push(`restarted after ${cut}: ${states.join(',')} / ${viewOf(rt).length} rows`);
      await b.close();
    }
    expect(diverged).toEqual([]);
  });

  it('restores a quarantine in the lifecycle: quarantined until the cool-down passes in message time', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
    for (const m of SEQUENCE.slice(0, 5)) a.host.runtimes[0]!.send(m);
    expect(a.host.runtimes[0]!.lifecycleState).toBe('quarantined');
    await a.snapshotter.take();
    const record = a.store.readSlotMeta(a.store.slots()[0]!);
    await a.close();
    expect((decodeChecked(record as Uint8Array) as SnapshotMeta).plugins['fragile-1m']).toMatchObject({
      failures: 3,
      quarantinedUntil: 640,
    });

    const b = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
    const rt = b.host.runtimes[0]!;
    // Quarantined from the restore on, through replay and live, as /plugins and /readyz report it.
    expect(rt.lifecycleState).toBe('quarantined');
    b.host.replaying();
    b.host.live();
    expect(rt.lifecycleState).toBe('quarantined');
    rt.send(ok(639));
    expect(rt.stats().counters).toMatchObject({ applied: 0, dropped: { quarantined: 1 } });
    rt.send(ok(640));
    expect(rt.lifecycleState).toBe('live');
    expect(rt.stats().counters.applied).toBe(1);
    await b.close();
  });

  it('restores a snapshot written before quarantines were kept: healthy, as it always did', async () => {
    const d = tempDir();
    dirs.push(d);
    const a = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
    for (const m of SEQUENCE.slice(0, 5)) a.host.runtimes[0]!.send(m);
    await a.snapshotter.take();
    await a.close();
    // The meta record as an older statscache wrote it: no failures, no quarantinedUntil.
    const store = new DataStore(d.path);
    const [meta] = [...store.slotRaw(store.slots()[0]!)];
    const old = decodeChecked(meta!.value) as SnapshotMeta;
    const { failures: _f, quarantinedUntil: _q, ...record } = old.plugins['fragile-1m']!;
    await store.putRaw(meta!.key, encodeChecked({ ...old, plugins: { 'fragile-1m': record } }));
    await store.close();

    const b = openSession(d.path, [fragile], { slots: 1, host: OPTIONS });
    expect(b.report.restored).toEqual({ 'fragile-1m': 1 });
    b.host.live();
    const rt = b.host.runtimes[0]!;
    expect(rt.lifecycleState).toBe('live');
    expect(rt.health).toEqual({ failures: 0, quarantinedUntil: null });
    // Errors are counted from none: three more quarantine it.
    rt.send(ok(300));
    for (const t of [310, 320]) rt.send(boom(t));
    expect(rt.lifecycleState).toBe('live');
    rt.send(boom(330));
    expect(rt.lifecycleState).toBe('quarantined');
    expect(viewOf(rt).map((r) => (r as unknown as { n: number }).n)).toEqual([1, 1]);
    await b.close();
  });
});
