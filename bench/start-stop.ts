/**
 * What a `serve` start and stop costs (the test suite starts the service ~300 times; operators
 * restart it): start on a data dir, wait for "ready: consuming the bus live", SIGTERM, wait for
 * the exit. Per run: wall time to ready, and user + sys CPU of the whole run from /usr/bin/time
 * (the process, its threads and the checker child it waited for). Builds are alternated run by
 * run, as the box is shared: compare medians, CPU rather than wall.
 *
 *   node dist/bench/start-stop.js [DIST...]    (default: this build's dist/)
 *   BENCH_RUNS (5): runs per build and data dir. BENCH_MAKE=DIR: only make the fixtures data dir in DIR.
 *
 * Data dirs: `empty` (a fresh one per run) and `fixtures` (a copy per run of one made here: the
 * 510 fixtures, a snapshot, then the 510 again with new ids, left in the journal).
 * At ready, the CPU each thread had used (from /proc/PID/task) is summed by thread name
 * (`main`: the main thread; `node`: the worker threads, V8's and libuv's), and the process's
 * own (/proc/PID/stat: threads already ended included) is taken: the stop's CPU is the run's
 * less that, so a change to the start and one to the stop can be told apart.
 */
import '../src/msgpack-strings.js';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Service } from '../src/service.js';
import { DIST, SAMPLES } from './load/lib.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const builds = process.argv.length > 2 ? process.argv.slice(2).map((d) => resolve(d)) : [DIST];
const READY = 'ready: consuming the bus live';

async function makeFixtures(dir: string): Promise<void> {
  const samples = readFileSync(SAMPLES, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, bind: ['tcp://127.0.0.1:*'] } });
  const service = await Service.build({ config, logger: createLogger('silent') });
  const end = Math.floor(Date.now() / 1000) - 60;
  const feed = async (round: string) => {
    samples.forEach((s, i) => {
      service.accept({ ...s, msg_id: `start-stop-${round}-${i}`, timestamp: end - 2 * samples.length + i } as never);
    });
    await service.settled();
  };
  await feed('a');
  await service.snapshot();
  await feed('b');
  await service.close();
}

/** CPU seconds each thread of `pid` has used, summed by thread name (comm). */
/** CPU seconds the process `pid` has used, its ended threads included (utime + stime). */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = +((out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100).toFixed(2);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

interface Run {
  readyS: number;
  wallS: number;
  cpuS: number;
  /** The process's CPU from ready to its exit (SIGTERM, the stop, the exit itself). */
  stopCpuS: number;
  threads: Record<string, number>;
}

function once(dist: string, dataDir: string): Promise<Run> {
  const cli = join(dist, 'src/cli.js');
  const args = ['-f', 'TIME %e %U %S', process.execPath, cli, 'serve', '--data-dir', dataDir, '--port', '0'];
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', [...args, '--bind', 'tcp://127.0.0.1:*'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let readyS = Number.NaN;
  let threads: Record<string, number> = {};
  let atReady = Number.NaN;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    if (!Number.isNaN(readyS) || !buffered.includes(READY)) return;
    readyS = (performance.now() - t0) / 1000;
    // /usr/bin/time's only child is node.
    const node = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
    threads = threadCpu(node);
    atReady = processCpu(node);
    process.kill(node, 'SIGTERM');
  });
  return new Promise((res, rej) =>
    child.once('exit', (code) => {
      const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !m || Number.isNaN(readyS))
        return rej(new Error(`run failed (${code}):\n${stderr}\n${buffered.slice(-2000)}`));
      const cpuS = Number(m[2]) + Number(m[3]);
      res({ readyS, wallS: Number(m[1]), cpuS, stopCpuS: +(cpuS - atReady).toFixed(2), threads });
    }),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2).toFixed(3);
};

if (process.env['BENCH_MAKE']) {
  // Only the fixtures data dir, for a look by hand (profiles, logs).
  await makeFixtures(process.env['BENCH_MAKE']);
  process.exit(0);
}
const root = mkdtempSync(join(tmpdir(), 'statscache-start-stop-'));
const template = join(root, 'fixtures');
await makeFixtures(template);
const kinds = ['empty', 'fixtures'] as const;
const results = new Map<string, Run[]>();
try {
  for (let run = 0; run < RUNS; run++)
    for (const kind of kinds)
      for (const dist of builds) {
        const dir = join(root, `run-${run}-${kind}`);
        if (kind === 'fixtures') cpSync(template, dir, { recursive: true });
        const r = await once(dist, dir);
        rmSync(dir, { recursive: true, force: true });
        const key = `${kind}\t${dist}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(JSON.stringify({ run, kind, dist, ...r }));
      }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(
  '\ndata dir\tbuild\tmedian ready s\tmedian wall s\tmedian CPU s (user+sys)\tmedian stop CPU s\tmedian CPU at ready by thread',
);
for (const [key, runs] of results) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.threads)))];
  const byThread = Object.fromEntries(names.map((n) => [n, median(runs.map((r) => r.threads[n] ?? 0))]));
  console.log(
    `${key}\t${median(runs.map((r) => r.readyS))}\t${median(runs.map((r) => r.wallS))}\t${median(runs.map((r) => r.cpuS))}\t${median(runs.map((r) => r.stopCpuS))}\t${JSON.stringify(byThread)}`,
  );
}
