/**
 * Where replay's main-thread CPU goes, per message, stage by stage (issue 11): recover() of a
 * journal of N messages (as bench/ingest.ts builds it) with the replay thread on or off, main-thread
 * CPU read from /proc around the journal replay and around the digest settle that follows it.
 * The main thread's GC pauses come from `gc` performance entries; after each recover() the
 * journal is read again without the plugins (read + checksum + decode + shape bounds), then again
 * with meta derived, to price those two stages alone. docs/benchmarks.md "What is left", replay.
 *
 *   node dist/bench/replay-stages.js [off,on,forced]   (default: all three, in that order)
 *   off: --replay-thread false; on: as `serve` (the probe decides); forced: the thread takes
 *   over after the probe whatever it timed. BENCH_MESSAGES (30000), BENCH_RUNS (2);
 *   BENCH_PROFILE=<prefix> writes a .cpuprofile of each recover() (an inspector session around it only).
 */
import '../src/msgpack-strings.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { deriveMeta } from '../src/meta/index.js';
import { Service } from '../src/service.js';
import { PerformanceObserver } from 'node:perf_hooks';
import type { Journal } from '../snapshots/journal.js';
import { writeFixtureJournal } from './fixture-journal.js';
import { mainThreadCpuSeconds } from './load/thread-times.js';

const N = Number(process.env['BENCH_MESSAGES'] ?? 30_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 2);
/** off: --replay-thread false; on: as `serve` (the probe decides); forced: the thread takes over after the probe whatever it measured. */
type Mode = 'off' | 'on' | 'forced';
const all: Mode[] = ['off', 'on', 'forced'];
const modes = (process.argv[2]?.split(',') ?? all) as Mode[];
const start = Math.floor(Date.now() / 1000) - N;
const logger = createLogger('silent');
const dir = mkdtempSync(join(tmpdir(), 'statscache-replay-stages-'));
await writeFixtureJournal(dir, N, start, () => Date.now() / 1000, logger);

const cpu = () => mainThreadCpuSeconds(process.pid);
const us = (s: number) => +((s * 1e6) / N).toFixed(1);
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
interface Parts {
  journal: Journal;
  intake: { shapeBounds: { maxDepth: number; maxKeys: number } };
  recovery: { replay: (...a: unknown[]) => Promise<void>; counters: { replayedOnThread: number } };
  host: { settleDigests: (...a: unknown[]) => Promise<void> };
}
for (let run = 0; run < RUNS; run++)
  for (const mode of modes) {
    const replayThread = mode !== 'off';
    const reader = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0, replayThread } }),
      logger,
      ...(mode === 'forced' ? { replayThreadWorthUs: 0, replayThreadMinEntries: 0 } : {}),
    });
    const parts = (reader as unknown as { parts: Parts }).parts;
    const stage: Record<string, number> = {};
    const wrap = <K extends string>(o: Record<K, (...a: unknown[]) => Promise<void>>, k: K, name: string) => {
      const f = o[k].bind(o);
      o[k] = async (...a: unknown[]) => {
        const c = cpu();
        await f(...a);
        stage[name] = (stage[name] ?? 0) + cpu() - c;
      };
    };
    wrap(parts.recovery as never, 'replay', 'journal_replay');
    wrap(parts.host as never, 'settleDigests', 'digest_settle');
    const gc0 = process.resourceUsage();
    const gcMs0 = gcMs;
    const profile = process.env['BENCH_PROFILE'];
    const session = profile ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    }
    const c0 = cpu();
    await reader.recover();
    const total = cpu() - c0;
    if (session && profile) {
      const { profile: p } = await session.post('Profiler.stop');
      writeFileSync(`${profile}-${mode}-${run}.cpuprofile`, JSON.stringify(p));
      session.disconnect();
    }
    const gc1 = process.resourceUsage();
    // Observer entries arrive on a later turn.
    await new Promise((r) => setTimeout(r, 10));
    const gcUs = ((gcMs - gcMs0) * 1000) / N;
    // The same journal read again without the plugins: read + checksum + decode + shape, then meta on top.
    const shape = parts.intake.shapeBounds;
    let c = cpu();
    let read = 0;
    let derived = 0;
    for (const e of parts.journal.after(0, { remember: false, shape })) if (e.seq > 0) read++;
    const readUs = us(cpu() - c);
    c = cpu();
    for (const e of parts.journal.after(0, { remember: false, shape }))
      if (deriveMeta(e.envelope, { maxFanout: reader.config.maxFanout }).usernames) derived++;
    const readMetaUs = us(cpu() - c);
    console.log(
      JSON.stringify({
        mode,
        replayed: reader.counters.replayed,
        on_thread: parts.recovery.counters.replayedOnThread,
        total_us: us(total),
        ...Object.fromEntries(Object.entries(stage).map(([k, v]) => [`${k}_us`, us(v)])),
        // Entries the two passes read (each N, or the passes measured nothing).
        read_back: [read, derived],
        gc_pause_us: +gcUs.toFixed(1),
        read_decode_only_us: readUs,
        meta_only_us: +(readMetaUs - readUs).toFixed(1),
        process_cpu_us: us((gc1.userCPUTime + gc1.systemCPUTime - gc0.userCPUTime - gc0.systemCPUTime) / 1e6),
      }),
    );
    await reader.close();
  }
rmSync(dir, { recursive: true, force: true });
