import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { bucketEnd } from '../../actors/interval.js';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins } from '../../actors/registry.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

// Whether V8 holds a number unboxed (a small integer) rather than as a HeapNumber: the one thing
// this test is about, and visible only through V8's own intrinsic.
setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('v', 'return %IsSmi(v)') as (v: unknown) => boolean;
const prepare = new Function('f', '%PrepareFunctionForOptimization(f)') as (f: unknown) => void;
const optimizeNext = new Function('f', '%OptimizeFunctionOnNextCall(f)') as (f: unknown) => void;
const optimized = new Function('f', 'return (%GetOptimizationStatus(f) & 16) !== 0') as (f: unknown) => boolean;

type Latest = { topic: string; timestamp: number };
type Counted = { timestamp: number; topic: string; n: number };

/** No interval: its bucket is the message's own timestamp, a fraction. */
const latest = definePlugin({
  name: 'Latest',
  summary: 's',
  description: 'd',
  rows: rowsOf<Latest>(),
  columns: ['topic'],
  key: ['topic'],
  update(m, { rows, bucket }) {
    rows.put({ topic: m.topic, timestamp: bucket });
  },
});

const seen: number[] = [];
const counted = definePlugin({
  name: 'Counted',
  summary: 's',
  description: 'd',
  rows: rowsOf<Counted>(),
  columns: ['topic', 'n'],
  key: ['timestamp', 'topic'],
  interval: '1m',
  update(m, { rows, bucket }) {
    seen.push(bucket);
    const n = (rows.get(rows.keyOf({ timestamp: bucket, topic: m.topic }))?.n ?? 0) + 1;
    rows.put({ timestamp: bucket, topic: m.topic, n });
  },
});

const msg = (topic: string, timestamp: number) => createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);

describe('update context', () => {
  it("keeps a bucketed plugin's whole-second buckets unboxed beside a plugin without an interval", () => {
    const host = new PluginHost(registerPlugins([latest, counted]), (_, err) => {
      throw err;
    });
    const rt = host.get('counted-1m');
    const other = host.get('latest');
    if (!rt || !other) throw new Error('not registered');
    for (let i = 0; i < 4; i++) {
      const m = msg('a.b.c.d', 1_700_000_000.25 + i * 30);
      other.send(m);
      rt.send(m);
    }
    // The plugin without an interval got the fractions (so its context's bucket is boxed)...
    expect([...other.inspect().rows.values()].map((r) => r.timestamp)).toEqual([1_700_000_090.25]);
    // ...and the bucketed one whole minutes, unboxed, in what it was given and what it stored.
    expect(seen).toEqual([1_700_000_040, 1_700_000_040, 1_700_000_100, 1_700_000_100]);
    expect(seen.map(isSmi)).toEqual([true, true, true, true]);
    const stored = [...rt.inspect().rows.values()].map((r) => r.timestamp);
    expect(stored).toEqual([1_700_000_040, 1_700_000_100]);
    expect(stored.map(isSmi)).toEqual([true, true]);
  });

  it("gives a bucketed plugin bucketEnd()'s bucket, unboxed, from the runtime's optimized loop too", () => {
    const host = new PluginHost(registerPlugins([counted]), (_, err) => {
      throw err;
    });
    const rt = host.get('counted-1m');
    if (!rt) throw new Error('not registered');
    const applyAt = PluginRuntime.prototype.applyAt;
    const times = [1_700_000_000.25, 1_700_000_039.999, 1_700_000_040, 1_700_000_059.5, 1_700_000_060, 1_700_003_599];
    seen.length = 0;
    prepare(applyAt);
    for (const t of times.slice(0, 3)) rt.send(msg('a.b.c.d', t));
    optimizeNext(applyAt);
    for (const t of times.slice(3)) rt.send(msg('a.b.c.d', t));
    expect(optimized(applyAt)).toBe(true);
    expect(seen).toEqual(times.map((t) => bucketEnd(t, 60)));
    expect(seen.map(isSmi)).toEqual(times.map(() => true));
    host.stop();
  });
});
