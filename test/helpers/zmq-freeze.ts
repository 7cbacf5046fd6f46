import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CLI } from './service-process.js';

/** How the service ended: its exit status, and whether libzmq's threads were still stopped then. */
export interface FrozenExit {
  readonly code: number | null;
  readonly signal: number;
  readonly frozenAtExit: boolean;
}

/** `statscache serve` run under zmq-freeze.c, which stops libzmq's threads when told. */
export interface FreezableService {
  /** Resolves once `line` is in the service's output; rejects if it ends first. */
  saw(line: string): Promise<void>;
  /** Stops libzmq's threads of the service, `want` of them at least (5 s at most); resolves with how many. */
  freeze(want: number): Promise<number>;
  /** The service's pid, for signals. */
  pid(): Promise<number>;
  readonly exit: Promise<FrozenExit>;
  out(): string;
  /** The freezer's own lines (its refusals among them: a ptrace not allowed). */
  reports(): string;
}

const SOURCE = fileURLToPath(new URL('./zmq-freeze.c', import.meta.url));

/** Compiles the freezer into `dir` (a test's temp dir); throws, saying so, if there is no C compiler. */
export function buildFreezer(dir: string): string {
  const program = join(dir, 'zmq-freeze');
  try {
    execFileSync('cc', ['-O2', '-o', program, SOURCE], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`this test needs a C compiler (cc) to build ${SOURCE}: ${e.stderr?.toString() || e.message}`);
  }
  return program;
}

/** Starts `statscache serve ARGV` (HTTP on a free port) as the freezer's child. */
export function freezableService(
  freezer: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): FreezableService {
  const child = spawn(freezer, [process.execPath, CLI, 'serve', '--port', '0', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const reports: string[] = [];
  const waiters: (() => void)[] = [];
  const look = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    look();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
    look();
  });
  let partial = '';
  (child.stdio[3] as Readable).on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    reports.push(...lines);
    look();
  });
  let ended = false;
  child.once('close', () => {
    ended = true;
    look();
  });
  /** Settles once `found` gives a value, or rejects once the freezer has ended without one. */
  const until = <T>(found: () => T | undefined, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value !== undefined) resolve(value);
        else if (ended) reject(new Error(`ended before ${what}:\n${reports.join('\n')}\n${out}`));
        else waiters.push(check);
      };
      check();
    });
  const report = (prefix: string) => () => reports.find((r) => r.startsWith(`${prefix} `))?.slice(prefix.length + 1);
  const exit = until(report('exit'), 'the exit report').then((fields) => {
    const [code, signal, frozen] = fields.split(' ').map(Number);
    return { code: code === -1 ? null : (code ?? null), signal: signal ?? 0, frozenAtExit: frozen === 1 };
  });
  return {
    saw: (line) => until(() => (out.includes(line) ? true : undefined), JSON.stringify(line)).then(() => undefined),
    freeze: (want) => {
      child.stdin?.write(`freeze ${want}\n`);
      return until(report('frozen'), 'the freeze').then(Number);
    },
    pid: () => until(report('pid'), 'its pid').then(Number),
    exit,
    out: () => out,
    reports: () => reports.join('\n'),
  };
}
