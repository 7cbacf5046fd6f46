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
 * BENCH_CLOCK_STEP_US=S: `performance.now()` reads a clock that moves S µs a read instead of the
 * real one. Replay applies its queue every 1 024 entries or when a 50 ms slice ends, by that
 * clock: under valgrind (~50× slower, and slower still on a busy machine) a real slice ends
 * every few dozen entries, a different batching from a real run's and one that moves with the
 * machine's load. About one read an entry and two a plugin's batch, so S = 25 ends slices as a
 * replay at ~40 k entries a second does, and the same at any speed.
 * BENCH_DIGESTS=1 adds the SHA-1 of every plugin's state digest after the replay (builds replaying
 * the same journal must agree on it); off by default, so a count has no read of them in it.
 */
import '../src/msgpack-strings.js';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Service } from '../src/service.js';
import { countingPlugin, writeFixtureJournal } from './fixture-journal.js';

const step = Number(process.env['BENCH_CLOCK_STEP_US'] ?? 0);
if (step > 0) {
  let virtual = 0;
  performance.now = () => (virtual += step) / 1000;
}

const [mode, dir, count] = process.argv.slice(2);
if (!dir || (mode !== 'make' && mode !== 'replay')) throw new Error('usage: replay-count.js make DIR N | replay DIR');
const logger = createLogger('silent');
const which = process.env['BENCH_PLUGINS'] ?? 'builtin';
const plugins = which === 'none' ? { plugins: [] } : which === 'counter' ? { plugins: [countingPlugin] } : {};

if (mode === 'make') {
  const N = Number(count ?? 10_000);
  const start = 1_700_000_000;
  mkdirSync(dir, { recursive: true });
  // Journal only, no snapshot: every replay applies it all.
  await writeFixtureJournal(dir, N, start, () => start + N, logger);
} else {
  const copy = mkdtempSync(join(tmpdir(), 'statscache-replay-count-'));
  cpSync(dir, copy, { recursive: true });
  const reader = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: copy, port: 0, replayThread: false } }),
    logger,
    ...plugins,
  });
  await reader.recover();
  const digests =
    process.env['BENCH_DIGESTS'] === '1'
      ? createHash('sha1')
          .update(reader.host.runtimes.map((r) => r.digest).join(''))
          .digest('hex')
      : undefined;
  console.log(JSON.stringify({ replayed: reader.counters.replayed, plugins: which, digests_sha1: digests }));
  await reader.close();
  rmSync(copy, { recursive: true, force: true });
}
