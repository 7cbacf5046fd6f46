import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The process's exit without joining its worker threads: process.exit() joins them, and
 * process-exit.ts says why that cannot always be waited for. C's exit() from JavaScript.
 */

/** Set once leave() has begun. */
let leaving = false;

/** Whether leave() has begun: the 'exit' it emits must not start another. */
export function isLeaving(): boolean {
  return leaving;
}

/** Ends the process with `code`, its 'exit' listeners run, without joining its worker threads. */
export function leave(code: number): never {
  leaving = true;
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
export function say(line: string): void {
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
