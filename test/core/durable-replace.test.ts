import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A file replaced by write-then-rename survives a power cut only if its data is fsynced before
 * the rename and its folder after: otherwise ext4/xfs may commit the rename first and leave an
 * empty amqp-bindings.json (a dropped binding then routes into the queue for good) or an empty
 * export the command said was written. A power cut cannot be staged here, so the test watches
 * the system calls the real code makes, under strace.
 */
const HELPER = fileURLToPath(new URL('../helpers/durable-writes.mjs', import.meta.url));
const strace =
  spawnSync('strace', ['-V']).status === 0 && spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'sc-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Call = { readonly name: string; readonly args: string; readonly result: string };

function traced(): Call[] {
  const log = join(dir, 'strace.log');
  execFileSync('strace', [
    '-f',
    '-qq',
    '-e',
    'trace=openat,fsync,fdatasync,rename,renameat,renameat2,close',
    '-o',
    log,
    process.execPath,
    HELPER,
    dir,
  ]);
  const calls: Call[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (m) calls.push({ name: m[1] ?? '', args: m[2] ?? '', result: m[3] ?? '' });
  }
  return calls;
}

/** The order of the calls that make `file` durable: each fsync named by the path its fd was opened on. */
function stepsFor(calls: readonly Call[], file: string): string[] {
  const fdPath = new Map<string, string>();
  const steps: string[] = [];
  for (const c of calls) {
    if (c.name === 'openat' && Number(c.result) >= 0) fdPath.set(c.result, /"([^"]*)"/.exec(c.args)?.[1] ?? '');
    else if (c.name === 'close') fdPath.delete(c.args.trim());
    else if (c.name === 'fsync' || c.name === 'fdatasync') {
      const path = fdPath.get(c.args.trim()) ?? '';
      if (path === dir) steps.push('fsync folder');
      else if (path.startsWith(`${file}.`)) steps.push('fsync new file');
    } else if (c.name.startsWith('rename') && c.args.includes(`"${file}"`)) steps.push('rename');
  }
  return steps;
}

describe.skipIf(!strace)('files replaced in place are durable (strace)', () => {
  const calls = strace ? traced() : [];
  for (const name of ['amqp-bindings.json', 'hung-messages.json', 'backup.sc']) {
    it(`${name}: the new file is fsynced before the rename, the folder after it`, () => {
      const steps = stepsFor(calls, join(dir, name));
      const renamed = steps.indexOf('rename');
      expect(renamed, `no rename onto ${name} seen: ${steps.join(', ')}`).toBeGreaterThanOrEqual(0);
      expect(steps.slice(0, renamed)).toContain('fsync new file');
      expect(steps.slice(renamed + 1)).toContain('fsync folder');
    });
  }
});
