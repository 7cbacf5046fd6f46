import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, eventually, tempDir } from '../helpers/service-process.js';

/**
 * A start whose bus thread outlasted --thread-start-timeout while zeromq's addon was still
 * loading in it ended the thread at once, and worker.terminate() inside the addon's init aborts
 * the whole process: a vitest worker died in test/recovery/bus-thread-start-hang on a machine
 * loaded to ~20, and `serve` ended SIGABRT instead of exit 1. The replay thread did the same
 * inside lmdb's. Here the thread is held inside that init (test/helpers/thread-load-hold.cjs)
 * until it has been found hung, then let go: it must be ended only once it has loaded.
 */
const HOLD = fileURLToPath(new URL('../helpers/thread-load-hold.cjs', import.meta.url));
const BUS_HELD = fileURLToPath(new URL('../helpers/bus-thread-load-held.mjs', import.meta.url));
const REPLAY_HELD = fileURLToPath(new URL('../helpers/replay-thread-load-held.mjs', import.meta.url));
/** Long enough for the thread to reach the hold on a busy machine before the start gives up on it. */
const START_TIMEOUT_S = 5;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A FIFO for the hold, in a temporary folder that also holds the data dir. */
function holdFifo(): { dir: string; fifo: string; held: string; release(): void } {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const fifo = join(dir.path, 'hold.fifo');
  execFileSync('mkfifo', [fifo]);
  return {
    dir: dir.path,
    fifo,
    held: `${fifo}.held`,
    // Read-write: never blocks, with the reader gone (the process exited) or still there.
    release: () => {
      const fd = openSync(fifo, 'r+');
      writeSync(fd, 'go');
      closeSync(fd);
    },
  };
}

/** Runs node with the hold preloaded; bounded: one that never ends is killed, and the test says so. */
function run(args: readonly string[], fifo: string, addon = 'zeromq') {
  const child = spawn(process.execPath, ['--require', HOLD, ...args], {
    env: { ...process.env, LOAD_HOLD_FIFO: fifo, LOAD_HOLD_ADDON: addon },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '', exited: false };
  child.stdout.on('data', (d: Buffer) => (output.text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output.text += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  // A failed test does not leave it behind, held for good.
  cleanups.push(() => {
    clearTimeout(timer);
    child.kill('SIGKILL');
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      output.exited = true;
      resolve({ code, signal });
    }),
  );
  return { output, closed };
}

describe('a bus thread still loading zeromq when its start times out', () => {
  it('makes serve exit 1, not abort', async () => {
    const { dir, fifo, held, release } = holdFifo();
    const { output, closed } = run(
      [
        CLI,
        'serve',
        '--port',
        '0',
        '--bind',
        'tcp://127.0.0.1:*',
        '--data-dir',
        join(dir, 'data'),
        '--thread-start-timeout',
        String(START_TIMEOUT_S),
      ],
      fifo,
    );
    // Held inside the addon's init, and the start failed on it: only then is it let go.
    await eventually(
      () => (output.exited || (output.text.includes('SC_BUS_THREAD_HUNG') && existsSync(held)) ? true : undefined),
      40_000,
      'the start to fail with the thread held',
    );
    expect(existsSync(held), output.text).toBe(true);
    release();
    const { code, signal } = await closed;
    expect(signal, output.text).toBeNull();
    expect(code, output.text).toBe(1);
    // Ended once loaded, not left inside the load (C's exit() then aborts as well: process-exit.ts).
    expect(output.text).not.toContain('did not end within');
    expect(output.text).toMatch(
      /SC_BUS_THREAD_HUNG: the bus thread gave no sign of life for \d+ s after it was created, loading its modules/,
    );
  }, 60_000);

  it('fails the start of an in-process service, whose process then stops and lives on', async () => {
    const { dir, fifo } = holdFifo();
    const { output, closed } = run([BUS_HELD, join(dir, 'data'), String(START_TIMEOUT_S)], fifo);
    const { code, signal } = await closed;
    expect(signal, output.text).toBeNull();
    expect(code, output.text).toBe(0);
    expect(output.text).toContain('start: SC_BUS_THREAD_HUNG\nheld: true\nreleased\ndone: true\nstopped\n');
  }, 60_000);
});

describe('a replay thread still loading lmdb when its start times out', () => {
  it('is found hung, and its process lives on', async () => {
    const { dir, fifo } = holdFifo();
    const { output, closed } = run([REPLAY_HELD, dir, String(START_TIMEOUT_S)], fifo, 'lmdb');
    const { code, signal } = await closed;
    expect(signal, output.text).toBeNull();
    expect(code, output.text).toBe(0);
    expect(output.text).toMatch(
      /replay: hung: replay thread gave no sign of life for \d+ s after it was created, loading its modules \(--thread-start-timeout \d+ s\): ended\nheld: true\nreleased\ndone: true\n/,
    );
  }, 60_000);
});
