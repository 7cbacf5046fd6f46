/**
 * Where a restore's time goes, stage by stage (issue 11, restore ≤ 3 s): the state
 * bench/snapshot-healthz.ts restores (KEYS users of its plugin: a row and a store entry each,
 * a full snapshot, 1% changed and snapshotted again, KEYS / 5 journal records after it), made
 * once, then `Service.build()` + `recover()` in a fresh process per run, each on a fresh copy.
 *
 *   node dist/bench/restore-stages.js make DIR        (BENCH_KEYS, default 500000; BENCH_GENERATIONS, default 1)
 *   node dist/bench/restore-stages.js restore DIR     one run on a copy of DIR; prints one JSON line
 *
 * `BENCH_REPLAY_THREAD=forced` hands the replay to the replay thread whatever its probe times.
 * With `node --expose-gc`, `heap_mb` is the heap after the restore (collected first).
 * On a shared machine (as root), a run in an autogroup of its own at the top weight is near
 * a quiet machine's (the check's children run in it too):
 *   setsid sh -c 'echo -20 > /proc/self/autogroup; exec node dist/bench/restore-stages.js restore DIR'
 *
 * Stages, wall and this thread's CPU (schedstat, updated at scheduler ticks: a span of many
 * short calls, as `decode`, reads low); `process_cpu` (all this process's threads, the
 * collector's helpers too) and `children_cpu` (the check's children), from /proc/self/stat, in
 * 10 ms ticks. The check-and-read (build() until restore opens the file's slots; the service
 * decodes the streamed frames meanwhile: `decode`), the load (restore's reads and checks, then
 * `loadAll` per container), the rest of build(), the journal's replay and the digests' settle. Prototype methods are wrapped for the timing: a
 * few calls each, none per entry.
 */
import '../src/msgpack-strings.js';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRuntimes } from '../actors/host-runtimes.js';
import { KeyedStore } from '../actors/keyed-store.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Recovery } from '../src/recovery.js';
import { Service } from '../src/service.js';
import { SlotReads } from '../snapshots/store-slot-reads.js';
import { SlotStreamReader } from '../snapshots/slot-stream.js';
import { feedUsers, perUser } from './per-user-plugin.js';

const KEYS = Number(process.env['BENCH_KEYS'] ?? 500_000);
/** Generations kept: 1 as bench/snapshot-healthz.ts; `serve`'s default is 3 (the start-up check then walks the older ones). */
const GENERATIONS = Number(process.env['BENCH_GENERATIONS'] ?? 1);

const configOf = (dir: string) =>
  loadConfig({
    env: {},
    flags: {
      dataDir: dir,
      port: 0,
      bind: ['tcp://127.0.0.1:*'],
      snapshotInterval: 3600,
      snapshotGenerations: GENERATIONS,
    },
  });

/** This thread's CPU in ms (schedstat: ns on the CPU). */
const threadCpuMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

/** This process's CPU (all threads) and its waited-for children's, in ms (/proc/self/stat, clock ticks of 10 ms). */
function processCpuMs(): { self: number; children: number } {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  const tick = (i: number) => Number(fields[i - 3]) * 10;
  return { self: tick(14) + tick(15), children: tick(16) + tick(17) };
}

async function make(dir: string): Promise<void> {
  const service = await Service.build({ config: configOf(dir), logger: createLogger('silent'), plugins: [perUser] });
  await service.start();
  const now = Math.floor(Date.now() / 1000) - 3600;
  const feed = (from: number, to: number, round: string) => feedUsers(service, now, from, to, round);
  await feed(0, KEYS, 'a');
  await service.snapshot();
  await feed(0, Math.ceil(KEYS / 100), 'b');
  await service.snapshot();
  await feed(0, Math.ceil(KEYS / 5), 'c');
  await service.close();
}

type Span = { wall: number; cpu: number; calls: number; first: number; last: number };
const spans = new Map<string, Span>();
const marks: Record<string, number> = {};

/** Wraps a prototype method to add its wall and thread CPU time to `name` (async methods: until settled). */
function timed(proto: object, method: string, name: string, first?: string): void {
  const p = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = p[method] as (...args: unknown[]) => unknown;
  p[method] = function (this: unknown, ...args: unknown[]) {
    const w = performance.now();
    const c = threadCpuMs();
    if (first !== undefined && marks[first] === undefined) marks[first] = w;
    const done = () => {
      const s = spans.get(name) ?? { wall: 0, cpu: 0, calls: 0, first: w, last: 0 };
      s.last = performance.now();
      s.wall += s.last - w;
      s.cpu += threadCpuMs() - c;
      s.calls++;
      spans.set(name, s);
    };
    const out = original.apply(this, args);
    if (out instanceof Promise) return out.finally(done);
    done();
    return out;
  };
}

async function restore(source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'statscache-restore-stages-'));
  cpSync(source, dir, { recursive: true });
  timed(SlotStreamReader.prototype, 'push', 'decode');
  timed(SlotReads.prototype, 'slots', 'slots', 'restore');
  timed(KeyedStore.prototype, 'loadAll', 'loadAll');
  timed(Recovery.prototype, 'replay', 'replay', 'replay');
  timed(HostRuntimes.prototype, 'settleDigests', 'settle');
  const gc: number[] = [];
  const { PerformanceObserver } = await import('node:perf_hooks');
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const c0 = threadCpuMs();
  const p0 = processCpuMs();
  const forced =
    process.env['BENCH_REPLAY_THREAD'] === 'forced' ? { replayThreadWorthUs: 0, replayThreadMinEntries: 0 } : {};
  const service = await Service.build({
    config: configOf(dir),
    logger: createLogger('silent'),
    plugins: [perUser],
    ...forced,
  });
  const built = performance.now();
  const cBuilt = threadCpuMs();
  await service.recover();
  const t1 = performance.now();
  const c1 = threadCpuMs();
  const p1 = processCpuMs();
  obs.disconnect();
  // The restored state's heap, when run with --expose-gc (the figure is meaningless with garbage in it).
  const gcNow = (globalThis as { gc?: () => void }).gc;
  gcNow?.();
  const heapMb = gcNow ? Math.round(process.memoryUsage().heapUsed / 1e6) : null;
  await service.close();
  rmSync(dir, { recursive: true, force: true });
  const ms = (n: number) => Math.round(n);
  const span = (name: string) => {
    const s = spans.get(name);
    return s ? { wall: ms(s.wall), cpu: ms(s.cpu), calls: s.calls, from: ms(s.first - t0), to: ms(s.last - t0) } : null;
  };
  const restoreAt = marks['restore'] ?? built;
  console.log(
    JSON.stringify({
      keys: 2 * KEYS,
      total: ms(t1 - t0),
      build: ms(built - t0),
      recover: ms(t1 - built),
      check_and_read: ms(restoreAt - t0),
      after_check: ms(built - restoreAt),
      main_cpu: { build: ms(cBuilt - c0), recover: ms(c1 - cBuilt) },
      process_cpu: p1.self - p0.self,
      children_cpu: p1.children - p0.children,
      decode: span('decode'),
      loadAll: span('loadAll'),
      replay: span('replay'),
      settle: span('settle'),
      gc_ms: ms(gc.reduce((a, b) => a + b, 0)),
      heap_mb: heapMb,
    }),
  );
}

const [mode, dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: restore-stages.js make|restore DIR');
if (mode === 'make') await make(dir);
else if (mode === 'restore') await restore(dir);
else throw new Error(`unknown mode ${mode}`);
