import { Worker } from 'node:worker_threads';
import { EXIT_FLUSH_MS } from './log-output.js';
import { THREAD_END_WAIT_MS } from './process-exit.js';
import { monotonicMs, type StopWatchArm, type StopWatchData, WATCH_ARMED, WATCH_IDLE } from './stop-watch-protocol.js';

/**
 * --stop-timeout off the main thread. The stop's own timer (cli.ts) runs on the main thread:
 * a stop stuck there (synchronous code that never returns, a native call such as an LMDB read
 * or a file's open on a hung disk, an 'exit' listener's sync) held it too, and the process
 * stayed up until the supervisor's own kill, holding its restart. This thread, armed by the
 * stop, kills the process (SIGKILL: nothing else a thread can do ends a process whose main
 * thread is stuck; thread-kill.ts) STOP_WATCH_MARGIN_MS past --stop-timeout.
 *
 * A kill at any point loses nothing durable: a message is committed to the journal (LMDB,
 * synced: overlappingSync off, lmdb-store.ts) before any plugin applies it (journal-commit.ts),
 * LMDB's copy-on-write pages leave the last committed transaction whole whatever is cut short,
 * and a snapshot is written into one of several rotating slots in one transaction
 * (snapshotter.ts), so a kill mid-write leaves that slot as it was and the others readable. The
 * next start restores the newest generation and replays the journal past its journalSeq: the
 * state is the one a clean stop would have left. Lost is only what was not committed (records
 * accepted in the current turn, or held while a failing disk refused them), as in any crash:
 * --datagrepper backfills it, an AMQP broker redelivers what was not acked.
 */

/**
 * Past --stop-timeout, how long the stop watch leaves the main thread's own timer to end the
 * process cleanly: exitProcess() waits THREAD_END_WAIT_MS for the worker threads, then the
 * logger flushes for EXIT_FLUSH_MS at most; a second more for the 'exit' listeners (LMDB syncs).
 */
export const STOP_WATCH_MARGIN_MS = THREAD_END_WAIT_MS + EXIT_FLUSH_MS + 1_000;

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/stop-watch-worker.js', import.meta.url)
  : new URL('./stop-watch-worker.js', import.meta.url);

/**
 * The main thread's side: starts the thread at once (a stop can come at any time), arms it when
 * the stop begins. Never keeps the process alive (unref'd), and not among the threads
 * exitProcess() ends first (trackThread): it must outlast the exit it guards. Waiting on its
 * port it is ended at once by the process's own exit. `onError` is called once if the thread
 * fails or ends before close(), as the hang watch's (hang-watch.ts).
 */
export class StopWatch {
  private readonly shared = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private failure: string | null = null;
  private closing = false;
  private armed = false;

  constructor(onError: (err: unknown) => void, url: URL = WORKER_URL) {
    const data: StopWatchData = { state: this.shared.buffer as SharedArrayBuffer };
    this.worker = new Worker(url, { workerData: data });
    const fail = (err: unknown) => {
      if (this.closing || this.failure !== null) return;
      this.failure = `stop watch thread failed (${String((err as Error)?.message ?? err)}): a stop whose main thread is stuck is no longer ended past --stop-timeout; the supervisor's kill ends it`;
      onError(err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the stop watch thread exited (code ${code})`)));
    this.worker.unref();
  }

  /** 'booting' until the thread listens, then 'idle' until armed. */
  get state(): 'booting' | 'idle' | 'armed' {
    const s = Atomics.load(this.shared, 0);
    return s === WATCH_ARMED ? 'armed' : s === WATCH_IDLE ? 'idle' : 'booting';
  }

  /**
   * The stop began: the process is killed `stopTimeoutSeconds` + `marginMs` from now unless it
   * has ended. The first call's deadline stands. Posted, not awaited: the message waits in the
   * port for a thread still booting, and a main thread stuck from the next line on has sent it.
   */
  arm(reason: string, stopTimeoutSeconds: number, marginMs = STOP_WATCH_MARGIN_MS): void {
    if (this.armed) return;
    this.armed = true;
    const armedMs = monotonicMs();
    const stopTimeoutMs = stopTimeoutSeconds * 1000;
    const arm: StopWatchArm = {
      reason,
      stopTimeoutMs,
      marginMs,
      armedMs,
      deadlineMs: armedMs + stopTimeoutMs + marginMs,
    };
    this.worker.postMessage(arm);
  }

  /** Why it no longer watches, or null (the degraded reason, as the hang watch's). */
  problem(): string | null {
    return this.failure;
  }

  /** Ends the thread, disarmed (tests, and tools that stop without exiting). */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
