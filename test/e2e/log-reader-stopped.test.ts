import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fill, type PipedService, serveIntoPipe } from '../helpers/stopped-log-reader.js';
import { tempDir } from '../helpers/service-process.js';

const dir = tempDir();
const services: PipedService[] = [];
afterAll(() => {
  for (const { child } of services) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  dir.remove();
});

/** `serve` with no plugins, its data and stdout pipe in a folder of their own under `dir`. */
async function serve(name: string, args: readonly string[] = []): Promise<PipedService> {
  const home = join(dir.path, name);
  const config = join(dir.path, `${name}.json`);
  writeFileSync(config, JSON.stringify({ plugins: [], dataDir: join(home, 'data') }));
  mkdirSync(home);
  const svc = await serveIntoPipe(home, ['--config', config, ...args]);
  services.push(svc);
  return svc;
}

/** The process's exit, or 'still running' after `ms`. */
const outcome = (svc: PipedService, ms: number) =>
  Promise.race([
    svc.exited.then(([code, signal]) => ({ code, signal })),
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms)),
  ]);

describe('a service whose log reader has stopped (stdout a full pipe nobody reads)', () => {
  it('still exits on SIGTERM: the lines left are flushed for a bounded time, not for ever', async () => {
    const svc = await serve('sigterm');
    // The pipe held the start-up lines; now it is full, and the "stopping" line waits.
    expect(fill(svc.pipe)).toBeGreaterThan(0);
    expect(fill(svc.pipe)).toBe(0);
    svc.child.kill('SIGTERM');
    // Past the 20 s stop timeout: on the old code the exit's flush retried the full pipe for ever.
    expect(await outcome(svc, 30_000), svc.stderr()).toEqual({ code: 0, signal: null });
  }, 90_000);
});
