import type { Worker } from 'node:worker_threads';
import { isLeaving, leave, say } from './exit-without-joining.js';

/**
 * The process's exit when worker threads may be stuck. process.exit() (and process.reallyExit)
 * joins every worker thread before the process ends, and worker.terminate() cannot interrupt a
 * native call: a bus thread blocked in one (a FIFO's open, a wedged disk's fsync) held
 * process.exit(1) for as long as the call lasted, the HTTP server already closed, /healthz
 * unanswered, until something killed the process. Here each live thread is told to end and
 * waited for THREAD_END_WAIT_MS; if one has not ended, the process leaves without joining it,
 * through C's exit() (WASI's proc_exit, the one route in Node that reaches it without joining),
 * so the exit status stays the one asked for; SIGKILL (status 137) only if that fails.
 */

/** How long the exit waits for the threads told to end: one not ended by then is stuck in a native call. */
export const THREAD_END_WAIT_MS = 2_000;

/** Live worker threads, by name, for the log line of one that does not end. */
const live = new Map<Worker, string>();
/** The first exit asked for wins: a stop timer firing during the wait does not start another. */
let exiting = false;

/**
 * How each thread that says so is asked to let go of what it holds before it is ended: the bus
 * thread's zeromq reads (a --connect socket's monitor reads all along). terminate() with one
 * pending aborted the whole process (SIGABRT, bus-release.ts), and so did every exit that came
 * without the service's stop having closed it first (an uncaught exception, an unhandled
 * rejection, a bare process.exit(): 3 of 3 runs each).
 */
const closers = new Map<Worker, { readonly close: () => void; readonly released: Int32Array }>();

/**
 * Threads terminate() was called on: one of them still there at the exit is stuck in a native
 * call; any other was never safe to end (its zeromq reads pending, an addon loading), which the
 * exit's line said was a native call too, of a thread only starved of CPU or let go while hung.
 */
const told = new WeakSet<Worker>();

/** worker.terminate(), remembered for the exit's line. */
export function endThread(worker: Worker): Promise<number> {
  told.add(worker);
  return worker.terminate();
}

/**
 * When each thread may be ended (terminate()) without taking the process with it: a native addon
 * still loading in it aborts the process when its environment is torn down.
 */
const endable = new Map<Worker, Promise<unknown>>();

/**
 * Settles once `worker` says `{ type: 'loaded' }` (its modules, native addons among them, are
 * loaded), or ends: from then on, ending it is safe. Every thread given to trackThread with it
 * says so as the first statement after its static imports.
 */
export function loadedOf(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: { readonly type?: unknown } | null) => {
      if (message?.type === 'loaded') done();
    };
    const done = () => {
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('exit', done);
    worker.once('error', done);
  });
}

/**
 * Counts `worker` among the threads an exit waits for (bounded), until it exits; `loaded`, if
 * given, is waited for (within the same bound) before it is ended.
 */
export function trackThread(worker: Worker, name: string, loaded?: Promise<unknown>): void {
  live.set(worker, name);
  if (loaded !== undefined) endable.set(worker, loaded);
  worker.once('exit', () => {
    live.delete(worker);
    endable.delete(worker);
    closers.delete(worker);
  });
}

/**
 * `close` asks `worker` to let go of what ending it must not find (its zeromq reads); an exit
 * calls it first, and `close` says through endableAfter when the thread may be ended. The thread
 * sets `released[0]` to 1 once it has let go: a bare process.exit() waits on that.
 */
export function closeAtExit(worker: Worker, close: () => void, released: Int32Array): void {
  if (!live.has(worker)) return;
  closers.set(worker, { close, released });
  leaveAtBareExit();
}

/**
 * `worker` may be ended only once `until` settles as well: a thread with a zeromq read pending
 * aborts the whole process as terminate() tears it down (bus-release.ts). Not ended by then, it
 * is left behind at the exit as one stuck in a native call is.
 */
export function endableAfter(worker: Worker, until: Promise<unknown>): void {
  if (!live.has(worker)) return;
  endable.set(worker, Promise.all([endable.get(worker), until]));
}

/**
 * Ends the process with `code`: at once without live threads (process.exit), else once they
 * have ended or THREAD_END_WAIT_MS has passed, whichever is first. Never returns normally.
 */
export function exitProcess(code: number): void {
  if (exiting) return;
  exiting = true;
  if (live.size === 0) process.exit(code);
  closeAll();
  const threads = [...live];
  void Promise.all(threads.map(([worker]) => endWithin(worker, THREAD_END_WAIT_MS))).then((ended) => {
    const left = threads.filter((_, i) => !ended[i]);
    if (left.length === 0) process.exit(code);
    leaveWithout(left, code);
  });
}

/** Not unref'd: the wait itself keeps the event loop turning until it is over. */
function endWithin(worker: Worker, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    // Loading takes ~0.1 s on an idle machine, seconds on one loaded to ~20: waited for within
    // the whole bound. One not loaded by then is not ended: terminate() inside a native addon's
    // load aborts the process (SIGABRT); it is left behind as one stuck in a native call. (Still
    // inside that load, it aborts C's exit() too: the exit handlers destroy Node's addon-load
    // lock while it holds it. Only a load stuck for the whole bound comes to that.)
    endableWithin(worker, ms).then((endable) => {
      if (!endable) return;
      endThread(worker).then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        () => undefined,
      );
    });
  });
}

/**
 * Ends `worker` once it may be (trackThread's `loaded`; at once without one), however long that
 * takes: terminate() while a native addon loads in it aborts the process.
 */
export function terminateWhenEndable(worker: Worker): void {
  void (endable.get(worker) ?? Promise.resolve()).then(() => endThread(worker));
}

/** Whether `worker` may be ended (trackThread's `loaded` settled) within `ms`. */
function endableWithin(worker: Worker, ms: number): Promise<boolean> {
  const loaded = endable.get(worker);
  if (loaded === undefined) return Promise.resolve(true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([loaded.then(() => true), late]).finally(() => clearTimeout(timer));
}

function leaveWithout(left: readonly (readonly [Worker, string])[], code: number): never {
  const stuck = left.filter(([worker]) => told.has(worker)).map(([, name]) => name);
  const unsafe = left.filter(([worker]) => !told.has(worker)).map(([, name]) => name);
  const them = left.length === 1 ? 'it' : 'them';
  const why = [
    ...(stuck.length > 0
      ? [
          `${stuck.join(', ')} did not end within ${THREAD_END_WAIT_MS / 1000} s of being told to (stuck in a native call)`,
        ]
      : []),
    ...(unsafe.length > 0
      ? [
          `${unsafe.join(', ')} could not be ended safely within ${THREAD_END_WAIT_MS / 1000} s (a zeromq read still pending or a native addon still loading: starved of CPU, or hung)`,
        ]
      : []),
  ];
  say(`statscache: ${why.join('; ')}: exiting with status ${code} without waiting for ${them}\n`);
  return leave(code);
}

/** Asks each thread that says how (closeAtExit) to let go of what ending it must not find. */
function closeAll(): void {
  for (const { close } of closers.values()) {
    try {
      close();
    } catch {
      // What it holds is then waited for as it is: ended once endable, else left behind.
    }
  }
}

let backstop = false;

/**
 * process.exit() called past exitProcess (a library's, an 'exit' listener's) terminates every
 * worker thread as it joins them: a bus thread with its zeromq reads pending aborted the process
 * (SIGABRT, 3 of 3 runs). Nothing asynchronous runs past it, so the thread is told to close and
 * its `released` flag waited on (Atomics.wait: the thread runs on while this one blocks), bounded
 * by THREAD_END_WAIT_MS; one that has not let go by then is left behind as a stuck one is.
 * Leaving without joining at once instead ended 1 of 12 such exits in SIGSEGV.
 */
function leaveAtBareExit(): void {
  if (backstop) return;
  backstop = true;
  process.prependListener('exit', (code: number) => {
    if (closers.size === 0 || isLeaving()) return;
    closeAll();
    const deadline = performance.now() + THREAD_END_WAIT_MS;
    for (const { released } of closers.values()) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(released, 0, 0, left) === 'timed-out') {
        say(
          `statscache: the bus thread did not let go of its zeromq reads within ${THREAD_END_WAIT_MS / 1000} s of the exit: exiting with status ${code} without waiting for it\n`,
        );
        leave(code);
      }
    }
  });
}

/**
 * An uncaught exception (or a rejection nobody handled) on the main thread ends the process
 * with status 1, as Node's default does, but through exitProcess: Node's own exit terminates the
 * bus thread with its zeromq reads pending, which aborted the process (SIGABRT, 3 of 3 runs).
 */
export function exitOnUncaught(): void {
  process.on('uncaughtException', (err, origin) => {
    const what = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
    say(`statscache: ${what}: ${(err as Error)?.stack ?? String(err)}\n`);
    exitProcess(1);
  });
}
