import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLYING_FILE } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE } from '../../snapshots/hung-messages.js';
import {
  HANGING_IDENT,
  HANGING_PLUGIN,
  HANGING_TOPIC,
  hangingEnvelope,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { freePort } from '../helpers/free-port.js';
import { fill } from '../helpers/stopped-log-reader.js';
import { CLI, eventually, getJson, tempDir } from '../helpers/service-process.js';

/**
 * The hang watch writes its fatal line to fd 1 before the kill. With the log reader stopped
 * (SIGSTOP'd, or wedged: the pipe open, nobody reading) and the pipe full, a blocking write
 * there would hold the watch thread, and the process, held by the plugin, would never be
 * ended. It does not block: the main thread's process.stdout (src/cli.ts) makes the pipe
 * non-blocking, the write fails with EAGAIN, the line goes to stderr and the kill follows.
 * This test keeps it so: with fd 1 made blocking the process is never ended.
 *
 * The service's stdout is a named pipe this test holds open and never reads (spawn's 'pipe' is
 * a socket pair, which no one else can write into); a second write end fills it.
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-hang-log-stopped');
const dir = tempDir();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dir.remove();
});

describe('a plugin that hangs while the log reader is stopped (--plugin-hang-timeout)', () => {
  it('still ends the process, the fatal line on stderr, and records the message', async () => {
    writeFileSync(join(dir.path, 'hangs.mjs'), HANGING_PLUGIN);
    const dataDir = join(dir.path, 'data');
    const config = join(dir.path, 'config.json');
    writeFileSync(config, JSON.stringify({ plugins: ['./hangs.mjs'], dataDir }));
    const pipe = join(dir.path, 'stdout');
    execFileSync('mkfifo', [pipe]);
    // Read and write: opening it does not wait for a writer, and it is never read.
    const held = openSync(pipe, constants.O_RDWR);
    const [port, busPort] = [await freePort(), await freePort()];
    const bound = `tcp://127.0.0.1:${busPort}`;
    const child = spawn(
      process.execPath,
      // 5 s: room to fill the pipe once the plugin is seen in the message, before the watch ends it.
      [CLI, 'serve', '--config', config, '--port', String(port), '--bind', bound, '--plugin-hang-timeout', '5'],
      { stdio: ['ignore', held, 'pipe'] },
    );
    children.push(child);
    closeSync(held);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const svc = { base: `http://127.0.0.1:${port}`, bound };
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`).catch(() => null))?.status === 200 ? true : undefined),
      60_000,
      'ready',
    );
    const pub = await publisherPastFirst(svc, envelope);
    await pub.send(HANGING_TOPIC, envelope(2, { hang: true }));
    pub.close();
    // The slow-message mark: the main thread is in the plugin, and logs nothing more.
    await eventually(() => (existsSync(join(dataDir, APPLYING_FILE)) ? true : undefined), 10_000, 'the mark');
    // The pipe held the start-up lines; now it is full.
    expect(fill(pipe)).toBeGreaterThan(0);
    expect(fill(pipe)).toBe(0);
    const outcome = await Promise.race([
      exited.then(([code, signal]) => ({ code, signal })),
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000)),
    ]);
    expect(outcome, stderr).toEqual({ code: null, signal: 'SIGKILL' });
    const recorded = JSON.parse(readFileSync(join(dataDir, HUNG_MESSAGES_FILE), 'utf8')) as {
      hung: { seq: number; plugin: string }[];
    };
    expect(recorded.hung).toEqual([expect.objectContaining({ seq: 2, plugin: HANGING_IDENT })]);
    // Refused by the full pipe, it went to stderr.
    expect(stderr).toMatch(
      /plugin \\"hangs-on-odd-1d\\" has been applying journal seq 2 for over --plugin-hang-timeout 5 s/,
    );
  }, 90_000);
});
