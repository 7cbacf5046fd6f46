/**
 * How long a snapshot delays a `/healthz` answer, with 200 000 tracked keys (BENCH_KEYS):
 * a client asks `/healthz` over real HTTP back to back while the service takes (1) a full
 * snapshot and (2) an incremental one after 1% of the keys changed. Each case runs chunked
 * (the default) and in one event-loop turn (chunking disabled: how snapshots were written
 * before), in the same run. Reports the worst and the 99th-percentile answer time. Not part
 * of `npm test`: it asserts nothing about time.   node --expose-gc dist/bench/snapshot-healthz.js
 * The chunked run also reports heap bytes per tracked key, and restore: a fresh service built
 * (data-file check, snapshot load) and recovered (the KEYS / 5 journal records written after
 * the snapshot replayed), timed from build() on.
 */
// Decode as `statscache serve` does (its CLI loads this first): msgpackr's native string
// extraction off, which changes what replayed state holds and what the collector copies.
import '../src/msgpack-strings.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Service } from '../src/service.js';
import type { SnapshotterOptions } from '../snapshots/snapshotter.js';
import { feedUsers, perUser } from './per-user-plugin.js';

const KEYS = Number(process.env['BENCH_KEYS'] ?? 200_000);

/** Asks /healthz back to back; prints "ready" after 20 warm-up answers, then one answer time (ms) per line until stdin closes. */
const CLIENT = `
const url = process.argv[1];
let stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
for (let i = 0; i < 20; i++) await (await fetch(url)).arrayBuffer();
const times = [];
process.stdout.write('ready\\n');
while (!stop) {
  const t = performance.now();
  await (await fetch(url)).arrayBuffer();
  times.push((performance.now() - t).toFixed(2));
}
process.stdout.write(times.join('\\n') + '\\n');
`;

/**
 * CPU time of this process in ms (getrusage: precise, unlike /proc/thread-self/schedstat, which
 * moves in 4 ms ticks here). On this shared machine a turn's wall time also holds the time other
 * processes had the core, which is not the stall a snapshot causes; CPU time does not, and it
 * over-counts only by what V8's GC helper threads do in parallel (an upper bound of the turn).
 */
const processCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function run(chunked: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'statscache-bench-healthz-'));
  const config = loadConfig({
    env: {},
    flags: { dataDir: dir, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600, snapshotGenerations: 1 },
  });
  // The snapshot options reach the snapshotter as given (the service declares only the chunk limits).
  const snapshotChunk: Pick<SnapshotterOptions, 'chunkMs' | 'chunkEntries' | 'turnClock'> = chunked
    ? { turnClock: processCpuMs }
    : { chunkMs: Number.POSITIVE_INFINITY, chunkEntries: Number.POSITIVE_INFINITY, turnClock: processCpuMs };
  const service = await Service.build({ config, logger: createLogger('silent'), plugins: [perUser], snapshotChunk });
  await service.start();
  const heap = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  const heapBefore = heap();
  const base = `http://127.0.0.1:${service.server?.port ?? 0}`;
  const now = Math.floor(Date.now() / 1000) - 3600;
  const feed = (from: number, to: number, round: string) => feedUsers(service, now, from, to, round);
  await feed(0, KEYS, 'a');
  const bytesPerKey = Math.round((heap() - heapBefore) / (2 * KEYS));

  type Taken = { durationMs: number; written: number; yields?: number; longestTurnMs?: number; cutMs?: number };
  const probe = async (take: () => Promise<Taken>) => {
    // The client is another process, so its own work does not compete with the server's event loop.
    const client = spawn(process.execPath, ['--input-type=module', '-e', CLIENT, `${base}/healthz`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Wait until it is answered steadily (connection open, code warm).
    await new Promise<void>((resolve) => client.stdout.once('data', () => resolve()));
    // Inside the server: how late a 1 ms timer fires (the event loop's own stalls, without the
    // client's and the kernel's share that the /healthz answer times also carry).
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const report = await take();
    delay.disable();
    client.stdin.end();
    await new Promise((r) => client.once('exit', r));
    const times = out
      .trim()
      .split('\n')
      .slice(1)
      .map(Number)
      .sort((a, b) => a - b);
    return {
      entries: report.written,
      snapshot_ms: Math.round(report.durationMs),
      yields: report.yields ?? 0,
      healthz_answers: times.length,
      healthz_max_ms: +(times.at(-1) ?? 0).toFixed(1),
      healthz_p99_ms: +(times[Math.floor(times.length * 0.99)] ?? 0).toFixed(1),
      loop_delay_max_ms: +(delay.max / 1e6).toFixed(1),
      loop_delay_p99_ms: +(delay.percentile(99) / 1e6).toFixed(1),
      ...(report.longestTurnMs === undefined
        ? {}
        : {
            snapshot_longest_turn_cpu_ms: +report.longestTurnMs.toFixed(1),
            cut_cpu_ms: +(report.cutMs ?? 0).toFixed(1),
          }),
    };
  };
  const full = await probe(() => service.snapshot());
  // Baseline: the same client for as long as the full snapshot took, with no snapshot running
  // (what the shared machine itself does to the answer times).
  const idle = await probe(
    () =>
      new Promise((r) =>
        setTimeout(() => r({ durationMs: full.snapshot_ms, written: 0 }), Math.max(200, full.snapshot_ms)),
      ),
  );
  await feed(0, Math.ceil(KEYS / 100), 'b');
  const incremental = await probe(() => service.snapshot());
  if (!chunked) {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
    return { full, incremental_1pct: incremental, idle };
  }
  // Journal records newer than the snapshot, then close without one: restore replays them.
  const journalRecords = Math.ceil(KEYS / 5);
  await feed(0, journalRecords, 'c');
  await service.close();
  // Timed from build(): it checks the data file and loads the snapshot; recover() replays the
  // journal after it and settles the digests. An operator waits for both.
  const t = performance.now();
  const restored = await Service.build({ config, logger: createLogger('silent'), plugins: [perUser] });
  const built = performance.now();
  await restored.recover();
  const restoreMs = Math.round(performance.now() - t);
  const buildMs = Math.round(built - t);
  await restored.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    full,
    incremental_1pct: incremental,
    idle,
    bytes_per_key: bytesPerKey,
    restore: { ms: restoreMs, build_ms: buildMs, recover_ms: restoreMs - buildMs, journal_records: journalRecords },
  };
}

const chunked = await run(true);
// BENCH_ONE_TURN=0 skips the one-turn baseline (quicker profiling runs).
const oneTurn = process.env['BENCH_ONE_TURN'] === '0' ? null : await run(false);
const { bytes_per_key, restore, ...chunkedStall } = chunked;
console.log(
  JSON.stringify({ tracked_keys: 2 * KEYS, bytes_per_key, restore, chunked: chunkedStall, one_turn: oneTurn }, null, 2),
);
