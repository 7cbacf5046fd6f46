/**
 * The host's side of --plugin-hang-timeout, on a real PluginHost: while a plugin applies, the
 * beacon the watch thread reads names that plugin and the message's journal seq (and names
 * none between batches); a recorded hang makes that one plugin skip that one message (counted
 * `hung`), and a message two plugins hung on is skipped by every plugin.
 */
import { describe, expect, it } from 'vitest';
import { ApplyBeacon, type BeaconReading, readBeacon, samePlace } from '../../actors/apply-beacon.js';
import { hungSkips } from '../../actors/hung-skips.js';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

let beacon: ApplyBeacon | null = null;
const seen: { ident: string; at: BeaconReading }[] = [];

const counting = (name: string) =>
  definePlugin({
    name,
    summary: 's',
    description: 'd',
    rows: rowsOf<{ timestamp: number; n: number }>(),
    columns: ['n'],
    key: ['timestamp'],
    update(_m, { rows }) {
      // A test plugin may look at the beacon; real ones cannot reach it.
      if (beacon !== null) seen.push({ ident: name, at: readBeacon(beacon.slots) });
      const before = rows.get(rows.keyOf({ timestamp: 0 }));
      rows.put({ timestamp: 0, n: (before?.n ?? 0) + 1 });
    },
  });

const T = 1_800_000_000;
const msg = (i: number) =>
  createPluginMessage(
    { topic: 'org.fedoraproject.prod.buildsys.build.state.change', timestamp: T + i, msg_id: `id-${i}`, msg: {} },
    deriveMeta,
  );

const hostOf = () => new PluginHost(registerPlugins([counting('a'), counting('b'), counting('c')]), () => {});
const all = [0, 1, 2];
const counts = (host: PluginHost) =>
  host.runtimes.map((r) => {
    const c = r.stats().counters;
    return { received: c.received, applied: c.applied, hung: c.dropped.hung };
  });

describe('the apply beacon', () => {
  it('names the plugin and journal seq being applied, and no plugin between batches', () => {
    const host = hostOf();
    beacon = new ApplyBeacon();
    seen.length = 0;
    host.watchHangs(beacon);
    host.queue(msg(1), all, 41);
    host.queue(msg(2), [1], 42);
    host.applyQueued();
    expect(seen.map((s) => [s.ident, s.at.plugin, s.at.seq])).toEqual([
      ['a', 0, 41],
      ['b', 1, 41],
      ['b', 1, 42],
      ['c', 2, 41],
    ]);
    // Three plugin batches begun, one each: the watch sees progress even when a seq repeats.
    expect(seen.map((s) => s.at.batches)).toEqual([1, 2, 2, 3]);
    const idle = readBeacon(beacon.slots);
    expect(idle.plugin).toBe(-1);
    expect(samePlace(idle, idle)).toBe(false);
    expect(samePlace(seen[1]?.at as BeaconReading, seen[1]?.at as BeaconReading)).toBe(true);
    expect(samePlace(seen[1]?.at as BeaconReading, seen[2]?.at as BeaconReading)).toBe(false);
    beacon = null;
  });
});

describe('messages plugins hung on in an earlier run', () => {
  it('are skipped by the plugin that hung on them, and counted', () => {
    const host = hostOf();
    const told: [string, number, string | null][] = [];
    host.skipRecordedHangs(hungSkips([{ seq: 2, ident: 'b' }]), (ident, seq, m) => told.push([ident, seq, m.msgId]));
    for (let i = 1; i <= 3; i++) host.queue(msg(i), all, i);
    host.applyQueued();
    expect(counts(host)).toEqual([
      { received: 3, applied: 3, hung: 0 },
      { received: 3, applied: 2, hung: 1 },
      { received: 3, applied: 3, hung: 0 },
    ]);
    expect(told).toEqual([['b', 2, 'id-2']]);
  });

  it('are skipped by every plugin once two hung on the same one', () => {
    const host = hostOf();
    host.skipRecordedHangs(
      hungSkips([
        { seq: 2, ident: 'a' },
        { seq: 2, ident: 'c' },
        { seq: 3, ident: 'a' },
      ]),
      () => {},
    );
    for (let i = 1; i <= 3; i++) host.queue(msg(i), all, i);
    host.applyQueued();
    expect(counts(host)).toEqual([
      { received: 3, applied: 1, hung: 2 },
      { received: 3, applied: 2, hung: 1 },
      { received: 3, applied: 2, hung: 1 },
    ]);
  });
});
