import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/service-process.js';

/**
 * exitProcess (src/process-exit.ts) in a real Node process with a real worker thread: stuck in a
 * native call (open(2) on a FIFO nobody writes), which neither terminate() nor process.exit()
 * ends, the process still ends, with the status asked for; stuck in JavaScript, the thread is
 * ended and the exit is Node's own. Covers every thread it tracks (bus, replay, hang watch).
 */
const MODULE = fileURLToPath(new URL('../../dist/src/process-exit.js', import.meta.url));
const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

/** Runs a process whose thread does `stuck`, then exitProcess(code); its status, signal and output. */
function run(stuck: string, code: number) {
  const dir = tempDir('statscache-exit-');
  dirs.push(dir);
  const fifo = join(dir.path, 'never-written');
  execFileSync('mkfifo', [fifo]);
  const thread = join(dir.path, 'thread.cjs');
  writeFileSync(thread, `require('node:worker_threads').parentPort.postMessage('in');\n${stuck}\n`);
  const script = `
    import { Worker } from 'node:worker_threads';
    import { exitProcess, trackThread } from ${JSON.stringify(MODULE)};
    const worker = new Worker(${JSON.stringify(thread)}, { env: { FIFO: ${JSON.stringify(fifo)} } });
    trackThread(worker, 'the test thread');
    process.on('exit', (c) => process.stdout.write('exit listener ran with ' + c + '\\n'));
    worker.once('message', () => setTimeout(() => exitProcess(${code}), 100));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Bounded: a process held by its thread is killed, and the test fails on the signal.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise<{ status: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) =>
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, out, err });
    }),
  );
}

const NATIVE = `require('node:fs').readFileSync(process.env.FIFO);`;
const STUCK_LINE =
  /statscache: the test thread did not end within 2 s of being told to \(stuck in a native call\): exiting with status (\d+) without waiting for it/;

describe('exitProcess', () => {
  it.each([1, 0])(
    'ends a process whose thread is stuck in a native call, with status %i',
    async (code) => {
      const r = await run(NATIVE, code);
      expect(r.signal, r.err).toBeNull();
      expect(r.status, r.err).toBe(code);
      expect(STUCK_LINE.exec(r.err)?.[1], r.err).toBe(String(code));
      // process.exit's listeners run all the same (lmdb's among them), and node:wasi's warning does not print.
      expect(r.out).toContain(`exit listener ran with ${code}`);
      expect(r.err).not.toMatch(/ExperimentalWarning/);
    },
    60_000,
  );

  it('ends a thread stuck in JavaScript and exits as Node does, saying nothing', async () => {
    const r = await run('for (;;) {}', 1);
    expect(r.signal, r.err).toBeNull();
    expect(r.status, r.err).toBe(1);
    expect(r.err).toBe('');
    expect(r.out).toContain('exit listener ran with 1');
  }, 60_000);
});
