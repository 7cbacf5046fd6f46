/**
 * How far the runtime is from the floor of its commonest plugin shape, to size a data-layout
 * change before making it. The 17 built-in bucketed counters (volume, volume-by-category,
 * -topic, -user, -package: 79% of the apply time over the fixture messages) are applied as the
 * service applies them (PluginHost.queue/applyQueued, batches of 500), and side by side, in
 * the same run and on the same messages, by the leanest layout that still does their work:
 * per plugin a Map of bucket → Map of value → count, buckets evicted oldest first past the
 * plugin's own retention, and every write appended to a change log (two arrays). It keeps no
 * row objects, no undo log, no digest, no key budget, no snapshot cut: what the runtime adds
 * for those is the ratio. Not part of `npm test`.
 *   node dist/bench/counter-floor.js      (BENCH_MESSAGES, default 60 000)
 *
 * Messages are the fixture samples stamped one second apart, as in apply-path.ts's builtins
 * figure: every 1-second plugin opens a bucket and evicts one per message.
 */
import { readFileSync } from 'node:fs';
import type { PluginMessage } from '../actors/plugin-api.js';
import { PluginHost } from '../actors/plugin-host.js';
import { registerPlugins } from '../actors/registry.js';
import { builtinPlugins } from '../plugins/index.js';
import type { Envelope } from '../src/envelope.js';
import { createPluginMessage } from '../src/message.js';
import { deriveMeta } from '../src/meta/index.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 60_000);
const BATCH = 500;

const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Envelope);
const messages: PluginMessage[] = [];
for (let i = 0; i < N; i++) {
  const e = samples[i % samples.length] as Envelope;
  const m = createPluginMessage({ ...e, timestamp: 1_700_000_000 + i, msg_id: `floor-${i}` }, deriveMeta);
  void m.meta.usernames; // derived now, outside both timed loops
  void m.meta.packages;
  messages.push(m);
}

/** What each counter family counts a message under (the plugins' own keysOf). */
const ALL = [''];
const FAMILIES: readonly [prefix: RegExp, keys: (m: PluginMessage) => readonly string[]][] = [
  [/^volume-\d/, () => ALL],
  [/^volume-by-category-/, (m) => [m.category]],
  [/^volume-by-topic-/, (m) => [m.topic]],
  [/^volume-by-user-/, (m) => m.meta.usernames],
  [/^volume-by-package-/, (m) => m.meta.packages],
];
const registered = registerPlugins(builtinPlugins());
const counters = registered
  .map((p, index) => ({ p, index, keys: FAMILIES.find(([re]) => re.test(p.ident))?.[1] }))
  .filter((c) => c.keys !== undefined);

/** The floor: one counter plugin in the leanest layout. */
class LeanCounter {
  private readonly buckets = new Map<number, Map<string, number>>();
  private readonly order: number[] = [];
  private head = 0;
  private readonly logBuckets: number[] = [];
  private readonly logKeys: string[] = [];

  constructor(
    private readonly interval: number,
    private readonly retention: number,
    private readonly keysOf: (m: PluginMessage) => readonly string[],
  ) {}

  add(m: PluginMessage): void {
    const bucket = (Math.floor(m.timestamp / this.interval) + 1) * this.interval;
    let counts = this.buckets.get(bucket);
    if (counts === undefined) {
      counts = new Map();
      this.buckets.set(bucket, counts);
      this.order.push(bucket);
    }
    const keys = this.keysOf(m);
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j] as string;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      this.logBuckets.push(bucket);
      this.logKeys.push(k);
    }
    const cut = bucket - this.retention;
    while (this.head < this.order.length && (this.order[this.head] as number) < cut) {
      this.buckets.delete(this.order[this.head] as number);
      this.head++;
    }
    // A snapshot would consume the log about this often.
    if (this.logBuckets.length > 4096) {
      this.logBuckets.length = 0;
      this.logKeys.length = 0;
    }
  }
}

function runtimeRound(): number {
  const host = new PluginHost(registered, () => {});
  const targets = counters.map((c) => c.index);
  const t = performance.now();
  for (let s = 0; s < N; s += BATCH) {
    for (let j = s; j < s + BATCH && j < N; j++) host.queue(messages[j] as PluginMessage, targets);
    host.applyQueued();
  }
  const ms = performance.now() - t;
  host.stop();
  return ms;
}

function floorRound(): number {
  const lean = counters.map(
    (c) => new LeanCounter(c.p.intervalSeconds ?? 1, c.p.retentionSeconds ?? Number.POSITIVE_INFINITY, c.keys!),
  );
  const t = performance.now();
  // Plugin by plugin within a batch, as applyQueued() does.
  for (let s = 0; s < N; s += BATCH) {
    const end = Math.min(N, s + BATCH);
    for (let c = 0; c < lean.length; c++) {
      const counter = lean[c] as LeanCounter;
      for (let j = s; j < end; j++) counter.add(messages[j] as PluginMessage);
    }
  }
  return performance.now() - t;
}

const us = (ms: number) => +((ms * 1000) / N).toFixed(2);
const rounds: { runtime_us: number; floor_us: number }[] = [];
runtimeRound(); // warm both up
floorRound();
for (let r = 0; r < 4; r++) {
  // Alternated, so neither gets a warmer machine.
  const runtime = runtimeRound();
  const floor = floorRound();
  rounds.push({ runtime_us: us(runtime), floor_us: us(floor) });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runtimeUs = median(rounds.map((r) => r.runtime_us));
const floorUs = median(rounds.map((r) => r.floor_us));
console.log(
  JSON.stringify({
    messages: N,
    counter_plugins: counters.length,
    rounds,
    runtime_us_per_msg: runtimeUs,
    floor_us_per_msg: floorUs,
    runtime_vs_floor: +(runtimeUs / floorUs).toFixed(2),
  }),
);
