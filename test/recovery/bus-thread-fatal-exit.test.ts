import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { CLI, tempDir } from '../helpers/service-process.js';

const FAULTS = fileURLToPath(new URL('../helpers/exit-faults.mjs', import.meta.url));
const READY = 'ready: consuming the bus live';

/**
 * A fatal exit that comes while a --connect bus thread is open (the production configuration),
 * not after the service's stop closed it: Node's own exit terminates the thread with its socket
 * monitor's read pending, and zeromq.js aborted the whole process as it tore it down
 * ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT: 3 of 3 runs of each
 * fault below). Now the thread is told to close and let go of its reads first (bounded), and the
 * process exits with the status the fault means.
 */
describe('a fatal exit with a --connect bus thread open', () => {
  const dir = tempDir();
  const pub = new Publisher({ linger: 0 });
  beforeAll(() => pub.bind('tcp://127.0.0.1:*'));
  afterAll(() => {
    pub.close();
    dir.remove();
  });

  /** Starts serve, brings `fault` on once it is live, and resolves with how it ended. */
  function faultOnce(fault: string) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        FAULTS,
        CLI,
        'serve',
        '--port',
        '0',
        '--data-dir',
        `${dir.path}/${fault}`,
        '--connect',
        pub.lastEndpoint ?? '',
      ],
      {
        env: { ...process.env, STATSCACHE_TEST_EXIT_FAULT: fault },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let faulted = false;
    const take = (d: Buffer) => {
      out += d.toString();
      if (!faulted && out.includes(READY)) {
        faulted = true;
        child.kill('SIGUSR2');
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // Bounded: a process that never exits is killed, and the test says so.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null; faulted: boolean; aborted: boolean }>(
      (resolve) =>
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, faulted, aborted: out.includes('terminate called') });
        }),
    );
  }

  it.each([
    ['an uncaught exception', 'throw', 1],
    ['an unhandled rejection', 'reject', 1],
    ['a bare process.exit(5)', 'exit', 5],
  ])(
    '%s exits with its status, not SIGABRT',
    async (_what, fault, code) => {
      expect(await faultOnce(fault)).toEqual({ code, signal: null, faulted: true, aborted: false });
    },
    60_000,
  );
});
