/**
 * Ingest, replay and snapshot throughput, each beside a baseline measured in the same run,
 * reported as ratios (`npm run bench`). Not part of `npm test`: it asserts nothing about time.
 *
 *   ingest   decodeFrames + de-dup + journal + every built-in plugin, per message
 *            baseline: JSON.parse of the same frames (the cheapest thing a consumer must do)
 *   replay   journal → plugins at start-up; baselines: the same messages through ingest, and
 *            JSON.parse + a no-op dispatch of the same records (what bench/run.ts compares against)
 *   snapshot an incremental snapshot after 1% of keys changed; baseline: the first, full one
 */
// Decode as `statscache serve` does (its CLI loads this first): msgpackr's native string
// extraction off, which changes what replayed state holds and what the collector copies.
import '../src/msgpack-strings.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Service } from '../src/service.js';
import { mainThreadCpuSeconds } from './load/thread-times.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 50_000);
const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown> & { topic: string });
const start = Math.floor(Date.now() / 1000) - N;
const frames = Array.from({ length: N }, (_, i) => {
  const s = samples[i % samples.length]!;
  const e = { ...s, timestamp: start + i, msg_id: `2026-bench-${i}` };
  return [Buffer.from(s.topic), Buffer.from(JSON.stringify(e))];
});

const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
const time = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

const dir = mkdtempSync(join(tmpdir(), 'statscache-bench-'));
// One generation, so the second snapshot rewrites the same slot and shows the incremental cost.
const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, snapshotGenerations: 1 } });
const logger = createLogger('silent');

const baselineMs = time(() => {
  for (const [, body] of frames) JSON.parse(body!.toString());
});
let dispatched = 0;
// A dispatch the compiler cannot drop: it looks at the parsed record.
const dispatch = (record: unknown) => {
  if (record !== null) dispatched++;
};
const parseDispatchMs = time(() => {
  for (const [, body] of frames) dispatch(JSON.parse(body!.toString()));
});
const service = await Service.build({ config, logger });
// As a running service: recovery (nothing to replay) settles the digests, which from then on
// hash every write; without it they would stay deferred and ingest would skip that work.
await service.recover();
// ingest() holds messages until start(); accept() is the same path after decoding, so decode here.
const { decodeFrames, frameLimits } = await import('../src/decode-frames.js');
const limits = frameLimits(config, () => Date.now() / 1000);
// Plugins apply after the journal commits, so ingest ends when everything accepted is applied.
const ingestStarted = performance.now();
for (const f of frames) {
  const r = decodeFrames(f, limits);
  if (r.ok) service.accept(r.envelope);
}
await service.settled();
const ingestMs = performance.now() - ingestStarted;
const full = await service.snapshot();
// Touch ~1% of the state: messages in one recent minute.
for (const f of frames.slice(0, Math.ceil(N / 100))) {
  const r = decodeFrames(f, limits);
  if (r.ok) service.accept({ ...r.envelope, msg_id: `${String(r.envelope.msg_id)}-again`, timestamp: start + N });
}
const incremental = await service.snapshot();
await service.close();

// Replay: a fresh process state restores nothing newer than the first snapshot... start empty instead.
rmSync(join(dir, 'statscache.lmdb'), { force: true });
const replayDir = mkdtempSync(join(tmpdir(), 'statscache-bench-replay-'));
const writer = await Service.build({ config: loadConfig({ env: {}, flags: { dataDir: replayDir, port: 0 } }), logger });
for (const f of frames) {
  const r = decodeFrames(f, limits);
  if (r.ok) writer.accept(r.envelope);
}
await writer.settled();
await writer.close(); // journal only, no snapshot: the next start replays everything
/** recover() of the whole journal; the reader closes without a snapshot, so the next one replays it all again. */
const replayOnce = async (replayThread: boolean, forced = false) => {
  const reader = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: replayDir, port: 0, replayThread } }),
    logger,
    // Forced: the thread takes over after the probe whatever it measured and however few
    // records are left; at the --quick size the probe would keep every record on the main thread.
    ...(forced ? { replayThreadWorthUs: 0, replayThreadMinEntries: 0 } : {}),
  });
  const cpu0 = mainThreadCpuSeconds(process.pid);
  const t0 = performance.now();
  await reader.recover();
  const ms = performance.now() - t0;
  const cpu = mainThreadCpuSeconds(process.pid) - cpu0;
  const replayed = reader.counters.replayed;
  // Whether the probe handed the replay to the second thread (startup-replay.ts), as /metrics says.
  const metrics = await reader.metrics.refresh();
  const onThread = Number(/^statscache_intake_total\{event="replayed_on_thread"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  await reader.close();
  return { ms, cpu, replayed, onThread };
};
// In-thread, threaded, threaded, in-thread: the first run also warms the JIT and the page
// cache, and the order cancels that (and any drift) out of the two means.
const runs = [await replayOnce(false), await replayOnce(true), await replayOnce(true), await replayOnce(false)];
const forcedRun = await replayOnce(true, true);
const mean = (a: (typeof runs)[number], b: (typeof runs)[number]) => ({
  ms: (a.ms + b.ms) / 2,
  cpu: (a.cpu + b.cpu) / 2,
  replayed: Math.min(a.replayed, b.replayed),
});
const inThread = mean(runs[0] as (typeof runs)[number], runs[3] as (typeof runs)[number]);
const threaded = mean(runs[1] as (typeof runs)[number], runs[2] as (typeof runs)[number]);
const replayMs = threaded.ms;
rmSync(dir, { recursive: true, force: true });
rmSync(replayDir, { recursive: true, force: true });

const report = {
  messages: N,
  plugins: service.host.runtimes.length,
  baseline_json_parse_per_s: rate(N, baselineMs),
  ingest_per_s: rate(N, ingestMs),
  ingest_vs_json_parse: +(baselineMs / ingestMs).toFixed(3),
  replay_per_s: rate(N, replayMs),
  baseline_parse_dispatch_per_s: rate(dispatched, parseDispatchMs),
  replay_vs_parse_dispatch: +(parseDispatchMs / replayMs).toFixed(3),
  replay_vs_ingest: +(ingestMs / replayMs).toFixed(3),
  replay_thread_off_per_s: rate(N, inThread.ms),
  replayed: { thread: threaded.replayed, thread_off: inThread.replayed },
  // Per run, in the order threaded, threaded: 0 when the probe kept the replay on the main thread.
  replayed_on_thread: [runs[1]?.onThread ?? 0, runs[2]?.onThread ?? 0],
  replay_main_thread_cpu_us_per_msg: {
    thread: +((threaded.cpu * 1e6) / N).toFixed(1),
    thread_off: +((inThread.cpu * 1e6) / N).toFixed(1),
    thread_forced: +((forcedRun.cpu * 1e6) / N).toFixed(1),
  },
  // One run with the thread made to take over after the probe (one sample: no order to cancel).
  replay_thread_forced: { per_s: rate(N, forcedRun.ms), replayed_on_thread: forcedRun.onThread },
  snapshot_full: { entries: full.written, bytes: full.bytes, ms: Math.round(full.durationMs) },
  snapshot_incremental: {
    entries: incremental.written,
    bytes: incremental.bytes,
    ms: Math.round(incremental.durationMs),
  },
  snapshot_incremental_vs_full_bytes: +(incremental.bytes / Math.max(1, full.bytes)).toFixed(4),
};
console.log(JSON.stringify(report, null, 2));
