/**
 * The replay thread's end waited on with nothing else alive. After its last batch the thread
 * was unref'd and its exit waited for on an unref'd timer: in a process holding nothing else (a
 * tool or embedder calling recover() without listening; bench/ingest.ts's forced run), the event
 * loop emptied while the thread closed its store, and the process ended with exit 13, recover()
 * never settled. serve's listening socket hid it. Real LMDB journal, real worker thread, real
 * processes of the dist build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PROBE_TO } from '../../src/startup-replay.js';
import { tempDir } from '../helpers/service-process.js';

const CHILD = fileURLToPath(new URL('../helpers/replay-alone.mjs', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../fixtures/fedmsg/samples.jsonl', import.meta.url));
/** Past the probe, so the thread takes over with entries left. */
const N = PROBE_TO + 4096;
const RUNS = 6;

/** One `replay` process to its end: its exit and the last line it printed. */
function replayRun(dataDir: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; last: string }> {
  const child = spawn(process.execPath, [CHILD, 'replay', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Bounded: a process that neither ends nor is ended would leave the test waiting for the timeout.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, last: out.trim().split('\n').at(-1) ?? '' });
    }),
  );
}

describe('start-up replay on the replay thread in a process holding nothing else', () => {
  const dir = tempDir('statscache-replay-alone-');
  afterAll(() => dir.remove());

  it('recover() settles once the thread has ended, every entry replayed, and the process ends by itself', async () => {
    // One journal, written and closed by a process of its own, copied for each run: the runs
    // replay what each used to write for itself first, and hold nothing the writing left behind.
    const written = join(dir.path, 'written');
    const writer = spawnSync(process.execPath, [CHILD, 'write', written, SAMPLES, String(N)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect([writer.status, writer.stdout.trim().split('\n').at(-1)], writer.stderr).toEqual([
      0,
      JSON.stringify({ accepted: N }),
    ]);
    // A race with the thread's own exit (its store's close): one run in three ended with exit 13
    // before the fix, so six runs, each on a copy of its own. Two at a time: each leaves a core
    // idle part of the time (its checker child, the hand-over to the thread).
    const runs: { status: number | null; signal: NodeJS.Signals | null; replayed?: number; onThread: boolean }[] = [];
    for (let i = 0; i < RUNS; i += 2) {
      const pair = await Promise.all(
        [i, i + 1].map((k) => {
          const data = join(dir.path, `run-${k}`);
          cpSync(written, data, { recursive: true });
          return replayRun(data);
        }),
      );
      for (const { status, signal, last } of pair) {
        const report = last.startsWith('{') ? (JSON.parse(last) as { replayed: number; onThread: number }) : null;
        // The thread did take over (onThread > 0): the wait at its end is what this is about.
        runs.push({ status, signal, replayed: report?.replayed, onThread: (report?.onThread ?? 0) > 0 });
      }
    }
    expect(runs).toEqual(
      Array.from({ length: RUNS }, () => ({ status: 0, signal: null, replayed: N, onThread: true })),
    );
  }, 300_000);
});
