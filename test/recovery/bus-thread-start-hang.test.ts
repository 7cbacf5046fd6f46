import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isStatscacheError } from '../../actors/errors.js';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { CLI, eventually, tempDir } from '../helpers/service-process.js';

/**
 * --thread-hang-timeout covers the bus thread from its first beat, not only once its sockets are
 * open. One made to spin while opening them (STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN, read by the
 * thread as it starts) held the start in "starting" for good, /healthz answering 200; now the
 * start fails with SC_BUS_THREAD_HUNG naming the bus thread, and `serve` exits 1.
 */
const OPEN_SPIN = 'STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  delete process.env[OPEN_SPIN];
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });

describe('a bus thread that hangs while opening its sockets', () => {
  it('fails the start of an in-process service with SC_BUS_THREAD_HUNG', async () => {
    process.env[OPEN_SPIN] = '1';
    const dir = tempDir();
    const config = loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], threadHangTimeout: 1 },
    });
    const s = await Service.build({ config, logger: pino({ level: 'silent' }) });
    cleanups.push(
      () => dir.remove(),
      () => s.stop(),
    );
    let outcome: { err: unknown } | null = null;
    void s.start().then(
      () => (outcome = { err: null }),
      (err: unknown) => (outcome = { err }),
    );
    // Listening, and still starting: the state the hang held it in.
    await eventually(() => (s.server ? true : undefined), 10_000, 'listening');
    expect(get(s, '/healthz').status).toBe(200);
    const { err } = await eventually(() => outcome ?? undefined, 15_000, 'the start to end');
    expect(isStatscacheError(err) ? err.code : String(err)).toBe('SC_BUS_THREAD_HUNG');
    expect((err as Error).message).toMatch(
      /the bus thread made no progress for \d+ s while opening its sockets \(--thread-hang-timeout 1 s\)/,
    );
  }, 60_000);

  it('makes serve exit 1 naming the bus thread', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--port',
        '0',
        '--bind',
        'tcp://127.0.0.1:*',
        '--data-dir',
        dir.path,
        '--thread-hang-timeout',
        '1',
      ],
      { env: { ...process.env, [OPEN_SPIN]: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Bounded: a start that never ends is killed, and the test says so.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (c, sig) => resolve({ code: c, signal: sig })),
    );
    clearTimeout(timer);
    expect(signal, out).toBeNull();
    // Exit 1, not 2: a restart may well find the thread well.
    expect(code, out).toBe(1);
    expect(out).toContain('SC_BUS_THREAD_HUNG: the bus thread made no progress');
    expect(out).toContain('while opening its sockets (--thread-hang-timeout 1 s)');
    expect(out).not.toMatch(/ready: consuming the bus live/);
  }, 60_000);
});
