// Run with helpers/meta-write-fault.ts's env (the LD_PRELOAD injector): a Service in this
// process (dist build, bound on an ephemeral ZeroMQ port, the bus thread on or off) takes a
// message over ZeroMQ, then its data file fails for good (a commit's meta-page write refused:
// MDB_PANIC). Its onFatal only records, so the process stays up while AFTER more messages come
// over ZeroMQ: what it counts and logs for them, what /readyz says, and its stop's log line.
// Prints one JSON line. argv: <data dir> <trigger file> <fixtures samples.jsonl> <bus thread: true|false>
import { rmSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { Publisher } from 'zeromq';
import { faultedService, recentSamples } from './panicked-child.mjs';

const [dataDir, trigger, samplesFile, busThread] = process.argv.slice(2);
const AFTER = 12;
const BOUND_MS = 20_000;

const lines = [];
const logger = pino({ level: 'info' }, { write: (line) => lines.push(JSON.parse(line)) });
const samples = recentSamples(samplesFile, '2026-panicked-bus');
const fatal = [];
const service = await faultedService(dataDir, fatal, { flags: { busThread: busThread === 'true' }, logger });
await service.start();
const pub = new Publisher({ linger: 0 });
pub.connect(service.subscription.bound[0]);
const send = (m) => pub.send([m.topic, JSON.stringify(m)]);

/** Polls `ready` (a few ms apart) until it holds; throws after BOUND_MS. */
async function until(ready, what) {
  const end = Date.now() + BOUND_MS;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await delay(10);
  }
}

// A SUB socket's slow join: the first message is sent again until it is taken in (repeats are duplicates).
await until(() => {
  void send(samples[0]);
  return service.counters.accepted > 0;
}, 'a message over ZeroMQ');
// One connection delivers in order: once this one is in, every copy sent before it is too.
await send(samples[4]);
await until(() => service.counters.accepted === 2, 'the fence message');
await service.settled();

writeFileSync(trigger, '');
for (const m of samples.slice(1, 4)) service.accept(m);
await service.settled().catch(() => undefined);
rmSync(trigger);
await until(() => fatal.length > 0, 'the panic told');

const framesBefore = service.counters.frames;
for (const m of samples.slice(10, 10 + AFTER)) await send(m);
await until(() => service.counters.frames >= framesBefore + AFTER, `${AFTER} messages off the bus`);

const base = `http://127.0.0.1:${service.server.port}`;
const readyz = await fetch(`${base}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));
const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
const event = (name) =>
  Number(new RegExp(`^statscache_intake_total\\{event="${name}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 'NaN');
const report = {
  fatal,
  taken: service.counters.frames - framesBefore,
  receiveErrors: event('receive_errors'),
  dropped: event('bus_dropped_data_file_failed'),
  readyz,
  receiveLogged: lines.filter((l) => l.msg === 'receive path failed; message skipped').length,
};
await service.stop().catch(() => undefined);
report.stopLine = lines.find((l) => String(l.msg).startsWith('stopping without a final snapshot')) ?? null;
pub.close();
console.log(JSON.stringify(report));
process.exit(0);
