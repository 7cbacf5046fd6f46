/**
 * `/api` latency while 40 filtered `/raw` scans arrive at once (`npm run build && node
 * dist/bench/raw-scans.js`). Not part of `npm test`. Set BENCH_DIST to another build's `dist`
 * directory (an older checkout) to measure it in the same run, against the same journal size.
 *
 *   idle     /api median with no scan running
 *   scans    /api median while PARALLEL scans (`user=ralph`) are answered, and how they were answered
 */
// Decode as `statscache serve` does (its CLI loads this first): msgpackr's native string
// extraction off, which changes what replayed state holds and what the collector copies.
import '../src/msgpack-strings.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Publisher } from 'zeromq';

const PARALLEL = Number(process.env['BENCH_SCANS'] ?? 40);
const COPIES = Number(process.env['BENCH_COPIES'] ?? 40);
const dists = [
  new URL('../', import.meta.url).pathname,
  ...(process.env['BENCH_DIST'] ? [process.env['BENCH_DIST']] : []),
];

const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown> & { topic: string });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? NaN;

async function timed(url: string): Promise<{ ms: number; status: number }> {
  const t = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  return { ms: performance.now() - t, status: res.status };
}

async function run(dist: string): Promise<void> {
  const { loadConfig } = (await import(join(dist, 'src/config.js'))) as typeof import('../src/config.js');
  const { createLogger } = (await import(join(dist, 'src/logger.js'))) as typeof import('../src/logger.js');
  const { Service } = (await import(join(dist, 'src/service.js'))) as typeof import('../src/service.js');
  const { builtinPlugins } = (await import(join(dist, 'plugins/index.js'))) as typeof import('../plugins/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'statscache-bench-scans-'));
  const service = await Service.build({
    config: loadConfig({
      env: {},
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir, snapshotInterval: 3600 },
    }),
    logger: createLogger('silent'),
    plugins: builtinPlugins(),
  });
  await service.start();
  const base = `http://127.0.0.1:${service.server?.port}`;
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  pub.connect(service.subscription?.bound[0] ?? '');
  while (service.counters.frames === 0) {
    await pub.send(['org.test.probe', '{']);
    await new Promise((r) => setTimeout(r, 30));
  }
  const end = Math.floor(Date.now() / 1000) - 60;
  const n = COPIES * samples.length;
  for (let i = 0; i < n; i++) {
    const s = samples[i % samples.length]!;
    await pub.send([s.topic, JSON.stringify({ ...s, timestamp: end - (n - i), msg_id: `bench-scan-${i}` })]);
  }
  for (;;) {
    const body = (await (await fetch(`${base}/raw?rows_per_page=1`)).json()) as { total: number };
    if (body.total >= n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  pub.close();

  const idle: number[] = [];
  for (let i = 0; i < 50; i++) idle.push((await timed(`${base}/api/volume-1m?rows_per_page=5`)).ms);
  const started = performance.now();
  let scansDone = false;
  const scans = Promise.all(
    Array.from({ length: PARALLEL }, () => timed(`${base}/raw?user=ralph&rows_per_page=5`)),
  ).finally(() => (scansDone = true));
  const busy: number[] = [];
  while (!scansDone) busy.push((await timed(`${base}/api/volume-1m?rows_per_page=5`)).ms);
  const answers = await scans;
  const statuses: Record<number, number> = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  const ok = answers.filter((a) => a.status === 200).map((a) => a.ms);
  console.log(
    `${dist}: ${n} messages; /api median idle ${median(idle).toFixed(1)} ms; during ${PARALLEL} parallel filtered scans: /api median ${median(busy).toFixed(1)} ms, p95 ${p95(busy).toFixed(1)} ms over ${busy.length} requests; ` +
      `scans answered ${JSON.stringify(statuses)}, slowest 200 after ${Math.max(...ok).toFixed(0)} ms, all done after ${(performance.now() - started).toFixed(0)} ms`,
  );
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const dist of dists) await run(dist);
