import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isStatscacheError } from '../../actors/errors.js';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { CLI, eventually, tempDir } from '../helpers/service-process.js';

/**
 * The bus thread is watched from its creation, not only once its sockets are open. One made to
 * spin while opening them (STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN, read by the thread as it starts)
 * held the start in "starting" for good, /healthz answering 200; so did one made to spin before
 * its first beat, as a thread stuck loading its modules would (STATSCACHE_TEST_BUS_THREAD_LOAD_SPIN,
 * --thread-start-timeout). Now either start fails with SC_BUS_THREAD_HUNG naming the bus thread
 * and the stage, and `serve` exits 1.
 */
const STAGES = [
  {
    stage: 'while opening its sockets',
    hook: 'STATSCACHE_TEST_BUS_THREAD_OPEN_SPIN',
    flags: { threadHangTimeout: 1 },
    argv: ['--thread-hang-timeout', '1'],
    said: /the bus thread made no progress for \d+ s while opening its sockets \(--thread-hang-timeout 1 s\)/,
  },
  {
    // The hang timeout left at its default: the start bound is the one that must catch it.
    stage: 'while loading its modules',
    hook: 'STATSCACHE_TEST_BUS_THREAD_LOAD_SPIN',
    flags: { threadStartTimeout: 1 },
    argv: ['--thread-start-timeout', '1'],
    said: /the bus thread gave no sign of life for \d+ s after it was created, loading its modules \(--thread-start-timeout 1 s\)/,
  },
] as const;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const { hook } of STAGES) delete process.env[hook];
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = (s: Service, path: string) => s.http({ method: 'GET', path, query: '', header: () => '' });

describe.each(STAGES)('a bus thread that hangs $stage', ({ hook, flags, argv, said }) => {
  it('fails the start of an in-process service with SC_BUS_THREAD_HUNG', async () => {
    process.env[hook] = '1';
    const dir = tempDir();
    const config = loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], ...flags },
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
    expect((err as Error).message).toMatch(said);
  }, 60_000);

  it('makes serve exit 1 naming the bus thread', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', '--data-dir', dir.path, ...argv],
      { env: { ...process.env, [hook]: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
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
    expect(out).toContain('SC_BUS_THREAD_HUNG: the bus thread ');
    expect(out).toMatch(said);
    expect(out).not.toMatch(/ready: consuming the bus live/);
  }, 60_000);
});
