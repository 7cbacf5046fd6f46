/**
 * The main thread's live apply path, counted in instructions: every built-in plugin, state
 * digests kept live (hashed at each write, as once recovery settles them), lifecycle `live`,
 * the hang watch's beacon on, a snapshot slot's reader open on every change log, messages
 * applied in batches of 16 through queue()/applyQueued() (a trickle's batch: what the bus
 * thread hands over per wake-up at ~1 k msg/s). This is what every live message pays and
 * what competes with HTTP reads; replay's path (digests deferred, batches of 512) is
 * bench/replay-stages.ts and `APPLY_PATH_ONLY=count` in bench/apply-path.ts.
 *
 * Input is deterministic: test/fixtures/fedmsg/samples.jsonl cycled, message i stamped
 * 1_700_000_000 + i × STEP seconds (BENCH_STEP, default 0.45: 8 k messages spread over an
 * hour, as bench/trickle-cpu.ts's publisher sends them), msg_id `live-<i>`, meta derived and
 * routed before counting starts. The argument is how many messages to apply; run it at two
 * counts under callgrind and divide the difference (start-up, warm-up and the set-up cancel).
 * The set-up always builds max(N, BENCH_SETUP) messages (BENCH_SETUP default 30 000) and the
 * first N are applied, so at both counts (each ≤ BENCH_SETUP) it does the same work and holds the
 * same heap: the difference is the apply path alone. (Before, it built exactly N, and ~75 k of
 * each message's difference was making, deriving and routing messages.) `setup_messages` in the
 * output says how many were built; two runs whose figures are compared must agree on it:
 *
 *   for n in 10000 20000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
 *     node --single-threaded --predictable-gc-schedule --hash-seed=1 --random-seed=1 \
 *     dist/bench/apply-live.js $n; done
 *   (callgrind_annotate's totals: (Ir(20000) − Ir(10000)) / 10000 is instructions per message)
 *
 * Without valgrind it prints CPU µs per message over the second half of the run (noisy on a
 * shared machine; the instruction count is the figure to compare builds by). BENCH_BATCH sets
 * the batch size. BENCH_HEADS=1: the set-up also encodes each message's head as the bus thread
 * hands it over, and the loop parses it as the main thread does (src/prepared-head.ts), just
 * before the message is queued: counted with the apply path, and V8's hidden classes then are the
 * live service's (the heads' `fields` objects share theirs with object literals of as many
 * members: plugins/plain-row.ts). Not part of `npm test`.
 */
import { createHash } from 'node:crypto';
import { ApplyBeacon } from '../actors/apply-beacon.js';
import type { PluginMessage } from '../actors/plugin-api.js';
import { builtinPlugins } from '../plugins/index.js';
import { loadConfig } from '../src/config.js';
import type { Envelope } from '../src/envelope.js';
import { createPluginMessage } from '../src/message.js';
import { deriveMeta } from '../src/meta/index.js';
import { buildPluginHost } from '../src/plugin-host-builder.js';
import { decodeHead, encodeHead, headOf } from '../src/prepared-head.js';
import { createRouter } from '../src/router.js';
import { fixtureSamples } from './fedmsg-wire.js';

const N = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 16);
const STEP = Number(process.env['BENCH_STEP'] ?? 0.45);
// The same set-up at every N it covers, so a difference of two runs holds none of it.
const SETUP = Math.max(N, Number(process.env['BENCH_SETUP'] ?? 30_000));
const HEADS = process.env['BENCH_HEADS'] === '1';

const samples = fixtureSamples() as unknown as Envelope[];

// As the service builds it (src/core.ts): default settings, so the key budget's checks run as they do live.
const host = buildPluginHost(loadConfig({ env: {}, flags: { port: 0 } }), builtinPlugins(), () => {});
const route = createRouter(host.runtimes.map((r) => r.plugin));
const messages: PluginMessage[] = [];
const targets: (readonly number[])[] = [];
const heads: Uint8Array[] = [];
for (let i = 0; i < SETUP; i++) {
  const e = samples[i % samples.length] as Envelope;
  const envelope = { ...e, timestamp: 1_700_000_000 + i * STEP, msg_id: `live-${i}` };
  // Not frozen: the service freezes messages only when external plugins are loaded (src/core.ts).
  const m = createPluginMessage(envelope, deriveMeta, undefined, false);
  void m.meta;
  if (HEADS) heads.push(encodeHead(headOf(envelope.msg_id, m.meta, envelope)));
  messages.push(m);
  targets.push(route(m.topic));
}

// Nothing restored, then live (src/service-recover.ts); digests never deferred, so every write hashes.
host.restoredNothing();
host.live();
host.watchHangs(new ApplyBeacon());
// The snapshotter's slot keeps a reader on each change log (snapshots/snapshotter.ts).
for (const r of host.runtimes) r.openReader();

let cpuHalf = process.cpuUsage();
for (let s = 0; s < N; s += BATCH) {
  if (s === (N >> 1) - ((N >> 1) % BATCH)) cpuHalf = process.cpuUsage();
  const end = Math.min(s + BATCH, N);
  for (let j = s; j < end; j++) {
    if (HEADS) decodeHead(heads[j] as Uint8Array);
    host.queue(messages[j] as PluginMessage, targets[j] as readonly number[], j + 1);
  }
  host.applyQueued();
}
const used = process.cpuUsage(cpuHalf);
// The digests read once, so no write above could have been left unhashed and skipped.
let keys = 0;
for (const r of host.runtimes) keys += r.keyCount;
const digest = host.runtimes.map((r) => r.digest).join('');
host.stop();
console.log(
  JSON.stringify({
    messages: N,
    setup_messages: SETUP,
    batch: BATCH,
    plugins: host.runtimes.length,
    keys,
    // Builds applying the same messages must agree on it (the digests are a contract).
    digests_sha1: createHash('sha1').update(digest).digest('hex'),
    us_per_message_second_half: +((used.user + used.system) / (N - (N >> 1))).toFixed(2),
  }),
);
