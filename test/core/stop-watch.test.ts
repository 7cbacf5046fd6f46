import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { StopWatch } from '../../src/stop-watch.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * The stop watch (src/stop-watch.ts) in real Node processes: armed, it kills a process whose
 * main thread is stuck in JavaScript, in a native wait, or in an 'exit' listener after
 * exitProcess() (which ends the tracked threads first: the watch must not be one of them), each
 * with its line on stderr; a process that ends in time is not killed. In this process (never
 * armed here): idle until armed, and its failure reported.
 */
const WATCH = fileURLToPath(new URL('../../dist/src/stop-watch.js', import.meta.url));
const EXIT = fileURLToPath(new URL('../../dist/src/process-exit.js', import.meta.url));
const dirs: { remove(): void }[] = [];
const watches: StopWatch[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  // A watch that failed to fire leaves its process stuck for good.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  delete process.env['STATSCACHE_TEST_STOP_WATCH_FAIL'];
  for (const w of watches.splice(0)) await w.close();
  for (const d of dirs.splice(0)) d.remove();
});

/**
 * Runs a process that starts a watch, waits for its thread to listen, arms it (0.2 s + 0.1 s),
 * then does `then`; how it ended and what it wrote.
 */
async function run(then: string) {
  const dir = tempDir('statscache-stop-watch-');
  dirs.push(dir);
  const fifo = join(dir.path, 'never-written');
  execFileSync('mkfifo', [fifo]);
  const script = `
    import { readFileSync } from 'node:fs';
    import { StopWatch } from ${JSON.stringify(WATCH)};
    import { exitProcess } from ${JSON.stringify(EXIT)};
    const fifo = ${JSON.stringify(fifo)};
    const watch = new StopWatch((err) => process.stdout.write('failed ' + err.message + '\\n'));
    while (watch.state === 'booting') await new Promise((r) => setTimeout(r, 5));
    watch.arm('SIGTERM', 0.2, 100);
    ${then}
  `;
  // A file, not --input-type=module -e: a worker inherits the process's execArgv, and that one fails it.
  const file = join(dir.path, 'stop.mjs');
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, out, err };
}

/** The watch's fatal line on stderr, parsed. */
const fatalOf = (stderr: string): Record<string, unknown> =>
  JSON.parse(stderr.split('\n').find((l) => l.includes('"level":60')) ?? 'null') as Record<string, unknown>;

describe('the stop watch, armed', () => {
  it.each([
    ['in JavaScript', 'for (;;) {}'],
    ['in a native wait', 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'],
    ['in a native call (open of a FIFO nobody writes)', 'readFileSync(fifo);'],
    [
      "in an 'exit' listener after exitProcess() (an LMDB sync on a hung disk)",
      "process.on('exit', () => readFileSync(fifo)); exitProcess(1);",
    ],
  ])(
    'kills a process whose main thread is stuck %s, saying why on stderr',
    async (_, stuck) => {
      const r = await run(stuck);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: null, signal: 'SIGKILL' });
      expect(fatalOf(r.err)).toMatchObject({
        level: 60,
        service: 'statscache',
        reason: 'SIGTERM',
        stopTimeout: 0.2,
        msg: expect.stringMatching(
          /^graceful stop \(SIGTERM\) not done 0\.2 s \(--stop-timeout\) \+ 0\.1 s after it began, and the main thread could not end it .*: killing the process \(SIGKILL\)/,
        ),
      });
      expect(fatalOf(r.err)['heldMs']).toBeGreaterThanOrEqual(300);
      expect(r.out).not.toMatch(/failed/);
    },
    30_000,
  );

  it('does not kill a process whose stop ends in time', async () => {
    // Its thread has taken the arm (its timer set) before the exit, with 0.3 s to go.
    const r = await run(`
      while (watch.state !== 'armed') await new Promise((r) => setTimeout(r, 5));
      exitProcess(0);
    `);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(r.err).toBe('');
    expect(r.out).toBe('');
  }, 30_000);
});

describe('the stop watch, never keeping a process alive', () => {
  it('lets a process whose event loop drains end on its own, armed', async () => {
    // Nothing more to do: the exit is Node's own, with the watch's timer still set on its thread.
    const r = await run("process.on('exit', (c) => process.stdout.write('exit ' + c + '\\n'));");
    expect({ code: r.code, signal: r.signal, out: r.out, err: r.err }).toEqual({
      code: 0,
      signal: null,
      out: 'exit 0\n',
      err: '',
    });
  }, 30_000);
});

describe('the stop watch, in this process (never armed here)', () => {
  it('is idle until armed, and closing it is no failure', async () => {
    const failures: unknown[] = [];
    const watch = new StopWatch((err) => failures.push(err));
    watches.push(watch);
    await eventually(() => (watch.state === 'idle' ? true : undefined), 10_000, 'the thread listening', 5);
    expect(watch.state).toBe('idle');
    // Armed for ten minutes: the test closes it long before.
    watch.arm('SIGTERM', 600, 0);
    await eventually(() => (watch.state === 'armed' ? true : undefined), 10_000, 'the thread armed', 5);
    await watch.close();
    expect(failures).toEqual([]);
    expect(watch.problem()).toBeNull();
  });

  it('failing is reported once, as the hang watch: told, and a degraded reason', async () => {
    process.env['STATSCACHE_TEST_STOP_WATCH_FAIL'] = '1';
    const failures: unknown[] = [];
    const watch = new StopWatch((err) => failures.push(err));
    watches.push(watch);
    await eventually(() => (failures.length > 0 ? true : undefined), 10_000, 'the failure told', 5);
    expect(String((failures[0] as Error).message)).toMatch(/stop watch failed \(test hook\)/);
    expect(watch.problem()).toMatch(
      /^stop watch thread failed \(.*stop watch failed \(test hook\).*\): a stop whose main thread is stuck is no longer ended past --stop-timeout/,
    );
    expect(failures).toHaveLength(1);

    // The instance serves on, degraded, naming it (as when the hang watch thread fails).
    const dir = tempDir();
    dirs.push(dir);
    const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
    const service = await Service.build({ config, logger: pino({ level: 'silent' }), stopWatch: watch });
    try {
      await service.start();
      const ready = await eventually(
        () => {
          const r = service.http({ method: 'GET', path: '/readyz', query: '', header: () => '' });
          return r.status === 200 ? r : undefined;
        },
        10_000,
        'ready',
      );
      expect((JSON.parse(ready.body as string) as { degraded?: string }).degraded).toMatch(
        /stop watch thread failed \(.*\): a stop whose main thread is stuck is no longer ended past --stop-timeout/,
      );
      expect(await service.metrics.refresh()).toMatch(/^statscache_degraded 1$/m);
    } finally {
      await service.stop();
    }
  });
});
