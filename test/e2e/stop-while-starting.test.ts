/**
 * A stop that comes while the service is still opening its HTTP listener and bus sockets
 * (`systemctl stop` right after a start, a supervisor bouncing it). stop() used to find nothing
 * to close yet and finish; start() then went on to open the listener and the bus thread
 * after the final snapshot, and the CLI's exit met the bus thread's sockets half open: libzmq
 * aborted the process (SIGABRT, exit 134 instead of 0, in 3 of 40 starts stopped at random
 * points). Now stop() waits for what start() is opening, closes it, and start() opens nothing
 * more.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

/** Whether anything accepts a TCP connection on the port now. */
async function listening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('a stop while the service is starting', () => {
  it('in process: stop() waits for the listener and the bus thread being opened, and closes both', async () => {
    for (const busThread of [true, false]) {
      const dir = tempDir('statscache-stop-start-');
      try {
        const service = await Service.build({
          config: loadConfig({
            env: {},
            flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], busThread },
          }),
          logger: createLogger('silent'),
        });
        // Stop in the same turn as the start: start() is awaiting its listener.
        const started = service.start();
        await service.stop();
        await started;
        // Before: the listener and the bus sockets were opened after the stop and left open.
        const port = service.server?.port;
        if (port !== undefined) expect(await listening(port), `busThread ${busThread}: port ${port}`).toBe(false);
        const bus = service.subscription;
        if (bus !== null) {
          const ended = await Promise.race([bus.done.then(() => true), new Promise((r) => setTimeout(r, 5000, false))]);
          expect(ended, `busThread ${busThread}: the bus receive loops ended`).toBe(true);
        }
      } finally {
        dir.remove();
      }
    }
  });

  it('as a process: SIGTERM at points through the start always ends in a clean exit with a final snapshot', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const dir = tempDir('statscache-stop-start-');
      try {
        const child = spawn(
          process.execPath,
          [CLI, 'serve', '--port', '0', '--bind', 'tcp://127.0.0.1:0', '--data-dir', dir.path],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let sent = false;
        // From the first line start() logs, through opening the listener and the bus thread.
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!sent && out.includes('"msg":')) {
            sent = true;
            setTimeout(() => child.kill('SIGTERM'), i * 35);
          }
        });
        child.stderr.on('data', (d: Buffer) => {
          out += d.toString();
        });
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
          child.on('exit', (c, s) => resolve([c, s])),
        );
        outcomes.push(`${i * 35} ms: ${code ?? signal}`);
        expect({ code, signal, snapshot: out.includes('final snapshot written') }, out.slice(-600)).toEqual({
          code: 0,
          signal: null,
          snapshot: true,
        });
      } finally {
        dir.remove();
      }
    }
    expect(outcomes).toHaveLength(8);
  }, 120_000);
});
