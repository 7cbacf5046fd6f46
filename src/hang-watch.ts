import { Worker } from 'node:worker_threads';
import { ApplyBeacon } from '../actors/apply-beacon.js';
import type { PluginHost } from '../actors/plugin-host.js';
import { clearApplying, SLOW_APPLY_MS } from '../snapshots/applying-mark.js';
import { viewDigests } from './hung-report.js';
import { trackThread } from './process-exit.js';

/** The running watch: `live()` once the start-up replay is over, `stop()` at the service's stop. */
export interface HangWatch {
  live(): void;
  stop(): void;
}

/** What the watch thread is given (hang-watch-worker.ts). */
export interface HangWatchData {
  readonly buffer: SharedArrayBuffer;
  readonly idents: readonly string[];
  /** Each plugin's viewDigestOf() (snapshots/hung-views.ts), parallel to `idents`; '' without a view. */
  readonly viewDigests: readonly string[];
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly dataDir: string;
  /** HeapWatch.share: the heap's live share after the last full collection. */
  readonly heapShare: SharedArrayBuffer;
  /** One Int32: 1 until the start-up replay is over (live()), then 0 (REPLAY_SLOW_APPLY_MS). */
  readonly replaying: SharedArrayBuffer;
}

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/hang-watch-worker.js', import.meta.url)
  : new URL('./hang-watch-worker.js', import.meta.url);

/**
 * Looks often enough that a hang is caught within a tenth of the timeout and a slow message is
 * written down soon after SLOW_APPLY_MS (applying-mark.ts), and at most 20 times a second.
 */
const pollMsOf = (timeoutMs: number): number => Math.min(SLOW_APPLY_MS / 2, Math.max(50, timeoutMs / 10));

/**
 * Starts the thread that ends the process when one plugin holds one message, or one call of its
 * view, past --plugin-hang-timeout (apply-beacon.ts), and writes down a slow one in case the process dies
 * on it (applying-mark.ts); marks the host's applies for it. Null when the timeout is 0 (off).
 * The thread is unref'd: it never keeps the process alive. `onError` is called once if the
 * thread fails or ends before stop().
 */
export function watchHangs(
  host: PluginHost,
  dataDir: string,
  timeoutSeconds: number,
  heapShare: Float64Array,
  onError: (err: unknown) => void,
): HangWatch | null {
  if (timeoutSeconds <= 0) return null;
  const replaying = new Int32Array(new SharedArrayBuffer(4));
  replaying[0] = 1;
  const beacon = new ApplyBeacon();
  const timeoutMs = timeoutSeconds * 1000;
  const digests = viewDigests(host);
  const data: HangWatchData = {
    buffer: beacon.buffer,
    idents: host.idents,
    viewDigests: host.idents.map((ident) => digests.get(ident) ?? ''),
    timeoutMs,
    pollMs: pollMsOf(timeoutMs),
    dataDir,
    heapShare: heapShare.buffer as SharedArrayBuffer,
    replaying: replaying.buffer as SharedArrayBuffer,
  };
  const worker = new Worker(WORKER_URL, { workerData: data });
  // Its record writer thread, stuck on a hung disk, holds it (and so the process) at exit.
  trackThread(worker, 'the hang watch thread');
  let stopping = false;
  let failed = false;
  const fail = (err: unknown) => {
    if (stopping || failed) return;
    failed = true;
    onError(err);
  };
  worker.on('error', fail);
  // It only ends when told to: any other exit leaves plugin hangs unwatched, as an error does.
  worker.on('exit', (code) => fail(new Error(`the hang watch thread exited (code ${code})`)));
  worker.unref();
  host.watchHangs(beacon);
  return {
    live: () => {
      Atomics.store(replaying, 0, 0);
    },
    stop: () => {
      stopping = true;
      worker.postMessage('stop');
      // Stopping, the main thread is between messages: a mark left now would name one that completed.
      clearApplying(dataDir);
    },
  };
}
