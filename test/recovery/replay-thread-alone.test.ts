/**
 * The replay thread's end waited on with nothing else alive. After its last batch the thread
 * was unref'd and its exit waited for on an unref'd timer: in a process holding nothing else (a
 * tool or embedder calling recover() without listening; bench/ingest.ts's forced run), the event
 * loop emptied while the thread closed its store, and the process ended with exit 13, recover()
 * never settled. serve's listening socket hid it. Real LMDB journal, real worker thread, a real
 * process of the dist build.
 */
import { spawnSync } from 'node:child_process';
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

describe('start-up replay on the replay thread in a process holding nothing else', () => {
  const dir = tempDir('statscache-replay-alone-');
  afterAll(() => dir.remove());

  it('recover() settles once the thread has ended, every entry replayed, and the process ends by itself', () => {
    // A race with the thread's own exit (its store's close): one run in three ended with exit 13
    // before the fix, so six runs, each on a fresh data dir.
    const runs = Array.from({ length: RUNS }, (_, i) => {
      const child = spawnSync(process.execPath, [CHILD, join(dir.path, `run-${i}`), SAMPLES, String(N)], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const last = child.stdout.trim().split('\n').at(-1) ?? '';
      const report = last.startsWith('{') ? (JSON.parse(last) as { replayed: number; onThread: number }) : null;
      // The thread did take over (onThread > 0): the wait at its end is what this is about.
      return {
        status: child.status,
        signal: child.signal,
        replayed: report?.replayed,
        onThread: (report?.onThread ?? 0) > 0,
      };
    });
    expect(runs).toEqual(
      Array.from({ length: RUNS }, () => ({ status: 0, signal: null, replayed: N, onThread: true })),
    );
  }, 300_000);
});
