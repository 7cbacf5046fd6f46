/**
 * Runs a test's child script to its end and reads the one JSON report it prints on stdout: the
 * store tests whose subject (a full disk, a capped file size) must not touch the test process.
 */
import { spawn } from 'node:child_process';

export async function childReport<R>(
  script: string,
  args: readonly string[],
): Promise<{ code: number | null; report: R }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, report: JSON.parse(out.trim()) as R };
}
