import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './service-process.js';

export interface RunningProxy {
  readonly child: ChildProcess;
  /** The backend endpoint replicas connect to (wildcard port resolved). */
  readonly backend: string;
  readonly logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `statscache proxy` and resolves once its log line gives the bound backend. */
export function startProxy(
  frontend: string,
  backend = 'tcp://127.0.0.1:*',
  args: readonly string[] = [],
  /** Node's own options (e.g. `--import` a preload) and environment for the child. */
  node: { readonly execArgv?: readonly string[]; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<RunningProxy> {
  const argv = [...(node.execArgv ?? []), CLI, 'proxy', '--frontend', frontend, '--backend', backend, ...args];
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...node.env },
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start:\n${logs.join('\n')}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === '') continue;
        logs.push(line);
        let entry: { msg?: string; backend?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'statscache proxy running' && entry.backend) {
          clearTimeout(timer);
          resolve({
            child,
            backend: entry.backend,
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
      reject(new Error(`proxy exited with ${code} before running:\n${logs.join('\n')}`));
    });
  });
}
