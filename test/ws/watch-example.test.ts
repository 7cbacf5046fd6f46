import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Live, samplesBatch, startLive } from './harness.js';

const WATCH = fileURLToPath(new URL('../../dist/examples/ws-client/watch.js', import.meta.url));

/**
 * README's "try `node dist/examples/ws-client/watch.js ws://…/ws volume-by-category-1m`", run as
 * written against a real service: `npm run build` must leave the compiled Node example in place
 * beside the bundled browser pages.
 */
describe('the README watch example (dist/examples/ws-client/watch.js)', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
    await live.publish(samplesBatch());
  }, 30_000);
  afterAll(async () => {
    await live?.close();
  });

  it('prints the live view it subscribed to', async () => {
    const child = spawn(process.execPath, [WATCH, live.wsUrl, 'volume-by-category-1m', 'rows_per_page=5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const printed = new Promise<void>((resolve) => {
      child.stdout.on('data', () => {
        if (/seq 0 \(\d+ rows\)/.test(out) && out.includes('│ category')) resolve();
      });
    });
    const outcome = await Promise.race([printed.then(() => 'printed' as const), exited.then(() => 'exited' as const)]);
    child.kill('SIGKILL');
    expect(err).not.toContain('Cannot find module');
    expect(outcome).toBe('printed');
    expect(out).toMatch(/volume-by-category-1m\?order=desc&page=1&rows_per_page=5 seq 0 \(5 rows\)/);
    expect(out).toContain('│ category');
  }, 30_000);
});
