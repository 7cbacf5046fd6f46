import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PID_FILE } from '../../snapshots/pid-file.js';
import { STOP_WATCH_MARGIN_MS } from '../../src/stop-watch.js';
import { HANGING_PLUGIN, hangingEnvelope, hangingRows, publisherPastFirst } from '../helpers/hanging-plugin.js';
import { pluginService } from '../helpers/plugin-service.js';
import { waitReady } from '../helpers/probes.js';
import { fill } from '../helpers/stopped-log-reader.js';
import { CLI, eventually, type RunningService, tempDir } from '../helpers/service-process.js';

/**
 * --stop-timeout's timer runs on the main thread: a stop stuck there held the timer too, and the
 * process stayed up after SIGTERM until something else killed it. Here the stop is held in a
 * native call, as on a hung disk: the pid file, read synchronously at the very end of the stop
 * (to remove it only if it is still ours), is made a named pipe nobody writes, so its open()
 * waits in the kernel as a read from a data dir whose NFS server went away does. No plugin is
 * applying, so the plugin hang watch has nothing to see. The stop watch thread ends the process
 * --stop-timeout + STOP_WATCH_MARGIN_MS after the SIGTERM, saying why; the journal and the final
 * snapshot were committed before, so the next start has everything.
 */
const STOP_TIMEOUT_S = 1;
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-stop-stuck');

/** The process's fatal lines (level 60), from stdout's lines and stderr's chunks alike. */
const fatalLines = (svc: RunningService): Record<string, unknown>[] =>
  svc.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.includes('"level":60'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// Both stops wait out --stop-timeout + STOP_WATCH_MARGIN_MS (6 s) doing nothing, each on its own
// data dir and child: run side by side (describe.concurrent), not one after the other.
describe.concurrent('a stop stuck on the main thread in a native call (--stop-timeout)', () => {
  const { dataDir, serve } = pluginService(
    { 'hangs.mjs': HANGING_PLUGIN },
    { args: ['--stop-timeout', String(STOP_TIMEOUT_S), '--snapshot-interval', '3600'] },
  );

  it('ends the process within --stop-timeout + the margin, saying why, and the next start has lost nothing', async () => {
    const first = await serve();
    const pub = await publisherPastFirst(first, envelope);
    pub.close();
    const pidFile = join(dataDir, PID_FILE);
    rmSync(pidFile);
    execFileSync('mkfifo', [pidFile]);

    const exited = once(first.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    first.child.kill('SIGTERM');
    // Before: never (the stop's timer waited behind the open() it was to cut short).
    await eventually(
      () => (first.child.exitCode !== null || first.child.signalCode !== null ? true : undefined),
      // Slack for a loaded machine: the watch itself reports what it waited (heldMs).
      STOP_TIMEOUT_S * 1000 + STOP_WATCH_MARGIN_MS + 10_000,
      'the process ended by the stop watch',
    );
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(first.logs.join('\n')).toMatch(/"msg":"final snapshot written"/);
    const fatal = fatalLines(first);
    expect(fatal).toEqual([
      expect.objectContaining({
        reason: 'SIGTERM',
        stopTimeout: STOP_TIMEOUT_S,
        msg: expect.stringMatching(
          /^graceful stop \(SIGTERM\) not done 1 s \(--stop-timeout\) \+ 5 s after it began, and the main thread could not end it \(stuck in synchronous code or a native call, such as a read from a hung disk\): killing the process \(SIGKILL\)/,
        ),
      }),
    ]);
    expect(fatal[0]?.['heldMs']).toBeGreaterThanOrEqual(STOP_TIMEOUT_S * 1000 + STOP_WATCH_MARGIN_MS);

    // The disk is back: what was applied before the SIGTERM is served again.
    rmSync(pidFile);
    const second = await serve();
    await waitReady(second);
    expect((await hangingRows(second))[0]?.n).toBe(1);
    // A stop that ends in time (the watch armed with the same 1 s + 5 s) exits 0, and the watch says nothing.
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(fatalLines(second)).toEqual([]);
  }, 120_000);
});

describe.concurrent('a stop stuck on the main thread while stderr is not read (--stop-timeout)', () => {
  const dir = tempDir();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    dir.remove();
  });

  it('still ends the process, its line on stdout after a newline of its own', async () => {
    const dataDir = join(dir.path, 'data');
    // stderr: a named pipe held open (read and write) and never read, filled below.
    const pipe = join(dir.path, 'stderr');
    execFileSync('mkfifo', [pipe]);
    const held = openSync(pipe, constants.O_RDWR);
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', '--data-dir', dataDir, '--stop-timeout', '1'],
      { stdio: ['ignore', 'pipe', held] },
    );
    children.push(child);
    closeSync(held);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    await eventually(
      () => (stdout.includes('"msg":"ready: consuming the bus live"') ? true : undefined),
      60_000,
      'ready',
    );
    expect(fill(pipe)).toBeGreaterThan(0);
    const pidFile = join(dataDir, PID_FILE);
    rmSync(pidFile);
    execFileSync('mkfifo', [pidFile]);
    child.kill('SIGTERM');
    await eventually(
      () => (child.exitCode !== null || child.signalCode !== null ? true : undefined),
      STOP_TIMEOUT_S * 1000 + STOP_WATCH_MARGIN_MS + 10_000,
      'the process ended by the stop watch',
    );
    expect(await exited).toEqual([null, 'SIGKILL']);
    // On a line of its own, whatever the stuck thread left unfinished before it.
    expect(stdout).toMatch(/\n\n\{"level":60,[^\n]*"reason":"SIGTERM"[^\n]*graceful stop \(SIGTERM\) not done 1 s/);
  }, 120_000);
});
