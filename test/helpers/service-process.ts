import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

export interface RunningService {
  readonly child: ChildProcess;
  readonly port: number;
  /** The resolved ZeroMQ endpoint the service's SUB socket bound. */
  readonly bound: string;
  readonly base: string;
  readonly logs: string[];
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How long startService waits for the "statscache listening" line. */
const START_TIMEOUT_MS = 60_000;

export function tempDir(prefix = 'statscache-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Starts the built CLI (`npm test` builds first) on a free HTTP port and a wildcard ZeroMQ
 * bind, and resolves once its "statscache listening" log line says where it is.
 */
export function startService(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: {
    /**
     * The largest file the process may write, in KiB (RLIMIT_FSIZE, soft: `prlimit --pid`
     * can lift it while it runs). A write past it fails with EFBIG, as on a full disk.
     */
    readonly fileSizeLimitKb?: number;
    /** The open-file limit (RLIMIT_NOFILE, soft and hard: Node raises the soft one to the hard). */
    readonly openFilesLimit?: number;
  } = {},
): Promise<RunningService> {
  // A service that connects to a publisher needs no inbound socket of its own.
  const bind = args.includes('--connect') || args.includes('--bind') ? [] : ['--bind', 'tcp://127.0.0.1:*'];
  const argv = [CLI, 'serve', '--port', '0', ...bind, ...args];
  const spawnOptions = {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
  // bash sets the limit and execs node, so the child's pid is the service's own.
  const limits = [
    ...(options.fileSizeLimitKb === undefined ? [] : [`ulimit -S -f ${String(options.fileSizeLimitKb)}`]),
    ...(options.openFilesLimit === undefined ? [] : [`ulimit -n ${String(options.openFilesLimit)}`]),
  ];
  const child =
    limits.length === 0
      ? spawn(process.execPath, argv, spawnOptions)
      : spawn('bash', ['-c', `${limits.join(' && ')} && exec "$@"`, 'bash', process.execPath, ...argv], spawnOptions);
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    // Generous: a start that salvages or replays a large data file on a loaded 2-core machine
    // takes tens of seconds. A child that never listens is killed, not left running.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within ${START_TIMEOUT_MS} ms:\n${logs.join('\n')}`));
    }, START_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        let entry: { msg?: string; port?: number; bound?: string[] };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'statscache listening' && entry.port && entry.bound) {
          clearTimeout(timer);
          const port = entry.port;
          resolve({
            child,
            port,
            bound: entry.bound[0] ?? '',
            base: `http://127.0.0.1:${port}`,
            logs,
            stop: async (signal = 'SIGTERM') => {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
}

/**
 * Spawns `statscache serve` as startService does, sends nothing, and waits for no line: `exit`
 * settles once it has ended (killed past 60 s), `out()` is everything it wrote so far, and
 * `saw(line)` tells whether a line came. For starts that end by themselves or are stopped before
 * they listen: one that dies as it replays (an abort on a full heap) may die before stdout has
 * taken its "statscache listening" line.
 */
export function spawnServe(argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen: { line: string; then: (saw: boolean) => void }[] = [];
  const look = () => {
    for (const w of seen.splice(0)) {
      if (out.includes(w.line)) w.then(true);
      else seen.push(w);
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    look();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
    look();
  });
  // Bounded: a process that never exits is killed, and the test says so.
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  const exit = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      look();
      // Lines not written by the end never will be.
      for (const w of seen.splice(0)) w.then(false);
      resolve({ code, sig });
    }),
  );
  return {
    child,
    exit,
    out: () => out,
    /** Whether `line` was written: true once it is, false if the process ended without. */
    saw: (line: string) =>
      new Promise<boolean>((then) => {
        seen.push({ line, then });
        look();
      }),
  };
}

/**
 * PUB/SUB drops what is sent before the subscription reaches the publisher ("slow joiner"):
 * send probe frames (invalid JSON, so counted and skipped) until the service has seen one.
 */
export async function waitForSubscription(
  send: (frames: string[]) => Promise<void>,
  framesSeen: () => number,
): Promise<void> {
  const before = framesSeen();
  await eventually(
    async () => {
      await send(['org.test.statscache.probe', '{not json']);
      await new Promise((r) => setTimeout(r, 30));
      return framesSeen() > before ? true : undefined;
    },
    10_000,
    'ZeroMQ subscription to join',
  );
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `ms`. `everyMs`
 * is the pause between polls: 50 suits a probe that asks a process over HTTP; a probe that reads
 * this process's memory (a counter, the frames a client received) can poll every few ms, so a
 * condition met in 2 ms is not seen 50 ms late (a test that waits on hundreds of them paid that each time).
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
  what = 'condition',
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body };
}
