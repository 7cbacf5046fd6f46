/**
 * Start-up replay's main-thread instructions per journal entry (issue 11), for callgrind: a
 * journal of N messages (as bench/ingest.ts builds it) made once, then `Service.build()` +
 * `recover()` of a copy of it with the replay thread off. Run at two sizes and divide the
 * difference by the difference in entries (start-up, the data file's check and warm-up cancel out):
 *
 *   node dist/bench/replay-count.js make DIR N
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded \
 *     --predictable-gc-schedule --hash-seed=1 --random-seed=1 dist/bench/replay-count.js replay DIR
 *
 * BENCH_PLUGINS: `builtin` (default: every built-in plugin), `counter` (one plugin taking every
 * topic and reading nothing of the message: replay's own cost, the plugins' left out) or `none`.
 * The data file's check runs in child processes, which callgrind does not follow.
 */
import '../src/msgpack-strings.js';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, store } from '../actors/plugin-api.js';
import { loadConfig } from '../src/config.js';
import { decodeFrames, frameLimits } from '../src/decode-frames.js';
import { createLogger } from '../src/logger.js';
import { Service } from '../src/service.js';

const [mode, dir, count] = process.argv.slice(2);
if (!dir || (mode !== 'make' && mode !== 'replay')) throw new Error('usage: replay-count.js make DIR N | replay DIR');
const logger = createLogger('silent');
const counter = definePlugin({
  name: 'Counter',
  summary: 's',
  description: 'd',
  columns: ['n'],
  key: ['timestamp'],
  stores: { total: store<number>() },
  update(_m, { stores }) {
    stores.total.set('all', (stores.total.get('all') ?? 0) + 1);
  },
});
const which = process.env['BENCH_PLUGINS'] ?? 'builtin';
const plugins = which === 'none' ? { plugins: [] } : which === 'counter' ? { plugins: [counter] } : {};

if (mode === 'make') {
  const N = Number(count ?? 10_000);
  const samples = readFileSync(new URL('../../test/fixtures/fedmsg/samples.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { topic: string });
  const start = 1_700_000_000;
  mkdirSync(dir, { recursive: true });
  const writer = await Service.build({ config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }), logger });
  const limits = frameLimits(writer.config, () => start + N);
  for (let i = 0; i < N; i++) {
    const s = samples[i % samples.length]!;
    const f = [
      Buffer.from(s.topic),
      Buffer.from(JSON.stringify({ ...s, timestamp: start + i, msg_id: `2026-bench-${i}` })),
    ];
    const r = decodeFrames(f, limits);
    if (r.ok) writer.accept(r.envelope);
  }
  await writer.settled();
  await writer.close(); // journal only, no snapshot: every replay applies it all
} else {
  const copy = mkdtempSync(join(tmpdir(), 'statscache-replay-count-'));
  cpSync(dir, copy, { recursive: true });
  const reader = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: copy, port: 0, replayThread: false } }),
    logger,
    ...plugins,
  });
  await reader.recover();
  console.log(JSON.stringify({ replayed: reader.counters.replayed, plugins: which }));
  await reader.close();
  rmSync(copy, { recursive: true, force: true });
}
