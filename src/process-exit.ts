import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';

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
  });
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
  const threads = [...live];
  void Promise.all(threads.map(([worker]) => endWithin(worker, THREAD_END_WAIT_MS))).then((ended) => {
    const stuck = threads.filter((_, i) => !ended[i]).map(([, name]) => name);
    if (stuck.length === 0) process.exit(code);
    leaveWithout(stuck, code);
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
      worker.terminate().then(
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
  void (endable.get(worker) ?? Promise.resolve()).then(() => worker.terminate());
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

function leaveWithout(stuck: readonly string[], code: number): never {
  say(
    `statscache: ${stuck.join(', ')} did not end within ${THREAD_END_WAIT_MS / 1000} s of being told to (stuck in a native call): exiting with status ${code} without waiting for ${stuck.length === 1 ? 'it' : 'them'}\n`,
  );
  // What process.exit does before it joins: its listeners (lmdb syncs its files on 'exit') run.
  process.exitCode = code;
  try {
    process.emit('exit', code);
  } catch {
    // A listener that throws must not keep the process.
  }
  try {
    exitWithoutJoining(code);
  } catch (err) {
    say(`statscache: could not exit without joining (${(err as Error)?.message}): SIGKILL (status 137)\n`);
  }
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is not delivered later than this; the type system does not know it.
  throw new Error('unreachable');
}

/** Best effort: the log reader may be gone (EPIPE). */
function say(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    // Nowhere to say it.
  }
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/**
 * A WebAssembly module of one function, exit(code), that calls WASI's proc_exit, which calls C's
 * exit() when returnOnExit is false. Loaded here, not at the top: node:wasi warns that it is
 * experimental when loaded, on the next tick, which this process never reaches.
 */
function exitWithoutJoining(code: number): void {
  const { WASI } = createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi');
  const text = (s: string) => [s.length, ...Buffer.from(s)];
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // Types: (i32) -> ().
    ...[0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00],
    // Imports: wasi_snapshot_preview1.proc_exit, function of type 0.
    ...[0x02, 0x24, 0x01, ...text('wasi_snapshot_preview1'), ...text('proc_exit'), 0x00, 0x00],
    // Functions: one of type 0; a memory of one page (WASI wants one exported).
    ...[0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01],
    // Exports: "memory", and "exit" (function 1, after the import).
    ...[0x07, 0x11, 0x02, ...text('memory'), 0x02, 0x00, ...text('exit'), 0x00, 0x01],
    // Code: local.get 0; call 0; end.
    ...[0x0a, 0x08, 0x01, 0x06, 0x00, 0x20, 0x00, 0x10, 0x00, 0x0b],
  ]);
  const wasi = new WASI({ version: 'preview1', returnOnExit: false });
  // The project's type libraries leave WebAssembly out; these two calls are all it uses.
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(new wasm.Module(bytes), wasi.getImportObject());
  wasi.initialize(instance);
  (instance.exports['exit'] as (code: number) => void)(code);
}
