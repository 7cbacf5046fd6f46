import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os'; import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { loadConfig } from './dist/src/config.js';
import { createLogger } from './dist/src/logger.js';
import { Service } from './dist/src/service.js';
import { decodeFrames, frameLimits } from './dist/src/decode-frames.js';
const N = Number(process.env.N ?? 30000);
const samples = readFileSync('test/fixtures/fedmsg/samples.jsonl','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
const start = Math.floor(Date.now()/1000) - N;
const logger = createLogger('silent');
const dir = mkdtempSync(join(tmpdir(), 'sc-replay-'));
const cfg = () => loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } });
const w = Service.build({ config: cfg(), logger });
const limits = frameLimits(cfg(), () => Date.now()/1000);
for (let i = 0; i < N; i++) { const s = samples[i % samples.length]; const r = decodeFrames([Buffer.from(s.topic), Buffer.from(JSON.stringify({...s, timestamp: start+i, msg_id: `r-${i}`}))], limits); if (r.ok) w.accept(r.envelope); }
await w.settled(); await w.close();
const reader = Service.build({ config: cfg(), logger });
const session = new Session(); session.connect();
if (process.env.PROF) { await session.post('Profiler.enable'); await session.post('Profiler.start'); }
const c0 = process.cpuUsage(); const t = performance.now(); await reader.recover(); const ms = performance.now() - t; const cu = process.cpuUsage(c0); const cpuMs = (cu.user + cu.system) / 1000;
if (process.env.PROF) { const { profile } = await session.post('Profiler.stop'); writeFileSync(process.env.PROF + '/replay.cpuprofile', JSON.stringify(profile)); }
console.log(JSON.stringify({ N, replay_per_s: Math.round(N*1000/ms), per_cpu_s: Math.round(N*1000/cpuMs) }));
await reader.close(); rmSync(dir, { recursive: true, force: true });
