// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a Service in this
// process (dist build, its builtin plugins, uWS on an ephemeral port, a bind no one publishes
// to) takes 20 fixture messages, then its data file's meta-page writes fail while 5 more come
// (one commit writes its data pages and fails its meta page: MDB_PANIC). The service's onFatal
// is only recorded here, so the process stays up to be asked what it answers: /healthz,
// /readyz, statscache_healthy, /raw and /id. Then its stop, bounded. Prints one JSON line.
// argv: <data dir> <trigger file> <fixtures samples.jsonl>
import { rmSync, writeFileSync } from 'node:fs';
import { faultedService, recentSamples } from './panicked-child.mjs';

const [dataDir, trigger, samplesFile] = process.argv.slice(2);
const BOUND_MS = 10_000;

/** Its outcome, or 'never settled' after BOUND_MS. */
function bounded(promise) {
  let timer;
  const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('never settled'), BOUND_MS)));
  const settled = promise.then(
    (value) => ({ value }),
    (e) => ({ error: String(e?.message ?? e) }),
  );
  return Promise.race([settled, bound]).finally(() => clearTimeout(timer));
}

const samples = recentSamples(samplesFile, '2026-panicked');
const fatal = [];
const service = await faultedService(dataDir, fatal);
await service.start();
const base = `http://127.0.0.1:${service.server.port}`;
const ask = async (path) => {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
};

for (const m of samples.slice(0, 20)) service.accept(m);
const report = { before: await bounded(service.settled()) };
report.snapshot = await bounded(service.snapshot().then((r) => r.generation));

writeFileSync(trigger, '');
for (const m of samples.slice(20, 25)) service.accept(m);
// The failed commit's records are held and applied: settled() says so, or hangs (the defect).
report.settledRefused = await bounded(service.settled());
rmSync(trigger);

report.fatal = fatal;
report.healthz = await ask('/healthz');
report.readyz = await ask('/readyz');
const metrics = await ask('/metrics');
report.healthy = Number(/^statscache_healthy (\S+)$/m.exec(String(metrics.body))?.[1]);
report.raw = await ask('/raw?rows_per_page=5');
report.id = await ask(`/id?id=${samples[0].msg_id}`);
report.stop = await bounded(service.stop());
console.log(JSON.stringify(report));
process.exit(0);
