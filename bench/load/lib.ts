/** Shared plumbing of the benchmark harness: child processes, the service under test, wrk, tables (what threads spent: thread-times.ts). */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = fileURLToPath(new URL('../../', import.meta.url));
export const SAMPLES = fileURLToPath(new URL('../../../test/fixtures/fedmsg/samples.jsonl', import.meta.url));
export const PUBLISHER = fileURLToPath(new URL('../../../bench/load/publisher.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the next stdout line. */
  line(): Promise<string>;
  /** Everything printed after the last line() call, once the process exits. */
  rest(): Promise<string>;
  send(text: string): void;
  stop(): Promise<void>;
}

/** Every child still running: killed if the harness exits early (a failed figure leaves no load behind). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Stops with a clear message when wrk or python3-zmq is missing, instead of a spawn error mid-run. */
export function preflight(): void {
  const missing: string[] = [];
  if (spawnSync('wrk', ['--version']).error) missing.push('wrk');
  if (spawnSync(PYTHON, ['-c', 'import zmq']).status !== 0) missing.push('python3-zmq');
  if (missing.length > 0) {
    console.error(`npm run bench needs the Debian packages: apt-get install -y ${missing.join(' ')}`);
    process.exit(2);
  }
}

export function child(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let buffer = '';
  const waiters: ((l: string) => void)[] = [];
  const lines: string[] = [];
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const l = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    proc,
    line: () =>
      new Promise<string>((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(l);
        waiters.push(resolve);
        void exited.then(() => reject(new Error(`${cmd} ${args.join(' ')} exited`)));
      }),
    rest: async () => {
      await exited;
      return [...lines.splice(0), buffer].join('\n');
    },
    send: (text) => proc.stdin?.write(text),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** The real service, started through its CLI as a user would; `dist` picks another build (an A/B run). */
export async function startService(
  extra: string[] = [],
  connect?: string,
  dist = DIST,
  env: Record<string, string> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'statscache-bench-')),
) {
  const port = await freePort();
  const busPort = await freePort();
  const args = [
    join(dist, 'src/cli.js'),
    'serve',
    '--port',
    String(port),
    ...(connect ? ['--connect', connect] : ['--bind', `tcp://127.0.0.1:${busPort}`]),
    '--data-dir',
    dataDir,
    '--log-level',
    'warn',
    '--snapshot-interval',
    '3600',
    ...extra,
  ];
  const svc = child(
    process.execPath,
    [...(process.env['BENCH_NODE_FLAGS']?.split(' ') ?? []), ...args].filter(Boolean),
    env,
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {}
    if (i > 300) throw new Error('service did not become ready');
    await sleep(100);
  }
  return { svc, base, port, bus: `tcp://127.0.0.1:${busPort}`, dataDir };
}

/** One metric's value from /metrics (the sum over its label sets). */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const l of text.split('\n')) {
    if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface WrkResult {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly errors: number;
}

const toMs = (v: string) => {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
};

export async function wrk(url: string, seconds: number, connections = 50): Promise<WrkResult> {
  const w = child('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
  const out = await w.rest();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const socket = /Socket errors: (.*)/.exec(out)?.[1];
  return {
    rps: Math.round(rps),
    p50_ms: +toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '').toFixed(2),
    p99_ms: +toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '').toFixed(2),
    errors: Number(errors ?? 0) + (socket ? 1 : 0),
  };
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
