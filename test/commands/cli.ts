import { spawn } from 'node:child_process';
import { CLI } from '../helpers/service-process.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI (`npm test` builds first) to completion. `fileSizeLimitKb`: the largest file
 * it may write, in KiB (RLIMIT_FSIZE): a write past it fails with EFBIG, as on a full disk.
 */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: { readonly fileSizeLimitKb?: number } = {},
): Promise<CliResult> {
  const spawnOptions = {
    env: { ...process.env, STATSCACHE_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
  const child =
    options.fileSizeLimitKb === undefined
      ? spawn(process.execPath, [CLI, ...args], spawnOptions)
      : spawn(
          'bash',
          ['-c', 'ulimit -S -f "$0" && exec "$@"', String(options.fileSizeLimitKb), process.execPath, CLI, ...args],
          spawnOptions,
        );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
