import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogOutput } from '../../src/log-output.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { fill } from '../helpers/stopped-log-reader.js';

/**
 * LogOutput writing into a real named pipe that this test reads, or does not: held open read
 * and write, non-blocking, as libuv leaves a service's stdout pipe.
 */
const dir = tempDir();
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

function pipe(name: string): { path: string; fd: number } {
  const path = join(dir.path, name);
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  fds.push(fd);
  return { path, fd };
}

/** What the pipe holds now, up to empty (the filling's newlines left out). */
function drain(fd: number): string {
  const chunk = Buffer.alloc(65536);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, chunk);
      if (n === 0) return text;
      text += chunk.subarray(0, n).toString();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return text.replace(/^\n+/, '');
      throw err;
    }
  }
}

const line = (i: number, bytes = 200) => `${String(i).padEnd(bytes - 1, '.')}\n`;

describe('LogOutput (the logger destination: bounded, never waiting for stdout)', () => {
  it('writes a line longer than the bound when nothing is held', async () => {
    const { fd } = pipe('long');
    const output = new LogOutput({ fd, maxBytes: 4096 });
    const long = line(1, 10_000);
    output.destination.write(long);
    let read = '';
    await eventually(() => ((read += drain(fd)).length >= long.length ? true : undefined), 10_000, 'the line');
    expect(read).toBe(long);
    expect(output.droppedLines).toBe(0);
    expect(output.problem()).toBeNull();
  });

  it('holds lines up to the bound while the pipe is full, drops and counts the rest, and says so until they are written', async () => {
    const { path, fd } = pipe('full');
    expect(fill(path)).toBeGreaterThan(0);
    const output = new LogOutput({ fd, maxBytes: 1000 });
    const resumed: [number, string][] = [];
    output.onResumed = (dropped, since) => resumed.push([dropped, since]);
    for (let i = 0; i < 8; i++) output.destination.write(line(i));
    // 5 lines of 200 bytes fill 1000; the last 3 would pass it.
    expect(output.droppedLines).toBe(3);
    expect(output.problem()).toMatch(/^log lines dropped: .*--log-buffer-bytes 1000 .*; 3 lines dropped since/);
    // The reader comes back: the held lines arrive in order, then the drops are told once.
    let read = '';
    await eventually(
      () => {
        read += drain(fd);
        return resumed.length > 0 ? true : undefined;
      },
      10_000,
      'resumed',
    );
    read += drain(fd);
    expect(read).toBe([0, 1, 2, 3, 4].map((i) => line(i)).join(''));
    expect(resumed).toEqual([[3, expect.stringMatching(/^\d{4}-\d\d-\d\dT/)]]);
    expect(output.problem()).toBeNull();
    // Room again: the next line is written, not dropped.
    output.destination.write(line(9));
    await eventually(() => ((read = drain(fd)).length > 0 ? true : undefined), 10_000, 'the next line');
    expect(read).toBe(line(9));
    expect(output.droppedLines).toBe(3);
  });
});
