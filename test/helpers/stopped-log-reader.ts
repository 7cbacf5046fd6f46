import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { CLI, eventually, getJson } from './service-process.js';

/**
 * A service whose log reader has stopped: its stdout is a named pipe held open (read and write,
 * so opening it waits for no one) and never read, as a paused `| less` or a wedged log shipper
 * leaves it. spawn's 'pipe' is a socket pair, which no one else can write into; a second write
 * end (fill) fills this one.
 */

/** Fills the pipe to the last byte: pages, then single bytes (a write of at most PIPE_BUF needs room for all of it). */
export function fill(pipe: string): number {
  const fd = openSync(pipe, constants.O_WRONLY | constants.O_NONBLOCK);
  let wrote = 0;
  try {
    for (const chunk of [Buffer.alloc(4096, 0x0a), Buffer.alloc(1, 0x0a)])
      for (;;) {
        try {
          wrote += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
      }
  } finally {
    closeSync(fd);
  }
  return wrote;
}

export interface PipedService {
  readonly child: ChildProcess;
  readonly base: string;
  readonly bound: string;
  /** The named pipe that is the service's stdout. */
  readonly pipe: string;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  stderr(): string;
}

/** What spawnIntoPipe starts: the process, its HTTP base URL and port, and its named stdout pipe. */
export type SpawnedIntoPipe = PipedService & { readonly port: number };

/**
 * `serve` with `args`, its stdout the named pipe `dir`/stdout, returned as soon as it is spawned.
 * With `full`, the pipe is filled before the process starts: its first line already waits.
 */
export async function spawnIntoPipe(
  dir: string,
  args: readonly string[],
  options: { readonly full?: boolean; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<SpawnedIntoPipe> {
  const pipe = join(dir, 'stdout');
  execFileSync('mkfifo', [pipe]);
  const held = openSync(pipe, constants.O_RDWR);
  if (options.full) fill(pipe);
  const [port, busPort] = [await freePort(), await freePort()];
  const bound = `tcp://127.0.0.1:${busPort}`;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--bind', bound, ...args], {
    stdio: ['ignore', held, 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  closeSync(held);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, base: `http://127.0.0.1:${port}`, port, bound, pipe, exited, stderr: () => stderr };
}

/** `serve` with `args` (a --config among them, if any), its stdout the named pipe `dir`/stdout, resolved once /readyz answers 200. */
export async function serveIntoPipe(dir: string, args: readonly string[]): Promise<PipedService> {
  const svc = await spawnIntoPipe(dir, args);
  await eventually(
    async () => ((await getJson(`${svc.base}/readyz`).catch(() => null))?.status === 200 ? true : undefined),
    60_000,
    'ready',
  );
  return svc;
}
