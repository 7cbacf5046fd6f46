/**
 * Heap bytes per tracked key of two built-in plugins at BENCH_KEYS keys (default 1 M): the
 * contribution calendar (one row per user and UTC day) and a counter (volume-by-user-1d, one
 * row per user and day). Each message brings one new key; messages go straight to the plugin
 * runtime (no journal, no HTTP), so the heap growth is the plugin's state, its change log and
 * indexes. Not part of `npm test`.   node --expose-gc dist/bench/memory.js
 */
import { PluginHost } from '../actors/plugin-host.js';
import { registerPlugins } from '../actors/registry.js';
import { contributionCalendar } from '../plugins/contribution-calendar.js';
import { volumeByUser } from '../plugins/volume-by-key.js';
import type { Envelope } from '../src/envelope.js';
import { createPluginMessage } from '../src/message.js';
import { deriveMeta } from '../src/meta/index.js';

const KEYS = Number(process.env['BENCH_KEYS'] ?? 1_000_000);
const DAYS = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** The users a bench message names: its own `msg.user`, so every message is a new key. */
const meta = (e: Envelope) => ({ ...deriveMeta(e), usernames: [String((e.msg as { user: string }).user)] });

function measure(definition: unknown) {
  const host = new PluginHost(registerPlugins([definition]), () => {}, { maxKeys: 2 * KEYS });
  const runtime = host.runtimes[0];
  if (!runtime) throw new Error('plugin did not register');
  const now = Math.floor(Date.now() / 1000);
  const before = heap();
  const t = performance.now();
  for (let i = 0; i < KEYS; i++) {
    const envelope: Envelope = {
      topic: 'org.fedoraproject.prod.bench.memory',
      timestamp: now - (i % DAYS) * 86_400,
      msg_id: `m-${i}`,
      msg: { user: `user-${Math.floor(i / DAYS)}` },
    } as Envelope;
    runtime.send(createPluginMessage(envelope, meta));
  }
  const ms = performance.now() - t;
  const keys = runtime.stats().rows;
  const bytes = heap() - before;
  return { keys, bytes_per_key: Math.round(bytes / keys), apply_per_s: Math.round((KEYS * 1000) / ms), runtime };
}

const calendar = measure(contributionCalendar());
const counter = measure(volumeByUser('1d'));
console.log(
  JSON.stringify(
    {
      keys: KEYS,
      calendar: { keys: calendar.keys, bytes_per_key: calendar.bytes_per_key, apply_per_s: calendar.apply_per_s },
      counter: { keys: counter.keys, bytes_per_key: counter.bytes_per_key, apply_per_s: counter.apply_per_s },
    },
    null,
    2,
  ),
);
// Both hosts stay reachable until the end, so neither's state is collected before its measurement.
void calendar.runtime;
void counter.runtime;
