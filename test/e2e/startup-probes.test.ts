import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { upgrade } from '../helpers/live-connections.js';
import { CLI, eventually, getJson, tempDir } from '../helpers/service-process.js';

/**
 * `serve` loads plugins, checks the data file in a child process (minutes for a large file) and
 * restores the newest snapshot before the service listens. Nothing answered on the port
 * meanwhile, so a liveness probe saw a refused connection and killed a start-up that was only
 * slow. Held here by a plugin module whose loading waits for a file the test writes (an
 * operator's plugin that is slow to load), the same window the checks run in.
 */
const PLUGIN = `import { existsSync } from 'node:fs';
while (!existsSync(new URL('./go', import.meta.url))) await new Promise((r) => setTimeout(r, 20));
export default {
  name: 'Slow to load', interval: '1d', summary: 's', description: 'd',
  columns: ['n'], key: ['timestamp'],
  update(message, { rows, bucket }) {
    const before = rows.get(rows.keyOf({ timestamp: bucket }));
    rows.put({ timestamp: bucket, n: (before?.n ?? 0) + 1 });
  },
};`;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const answer = (url: string) => getJson(url).catch(() => undefined);

describe('probes while serve starts', () => {
  it('answer /healthz alive and /readyz not ready, then the service itself answers', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    writeFileSync(join(dir.path, 'slow.mjs'), PLUGIN);
    const config = join(dir.path, 'config.json');
    writeFileSync(config, JSON.stringify({ plugins: ['./slow.mjs'], dataDir: join(dir.path, 'data') }));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logs: string[] = [];
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'serve', '--config', config, '--port', String(port), '--bind', 'tcp://127.0.0.1:*'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    cleanups.push(() => void child.kill('SIGKILL'));

    const health = await eventually(() => answer(`${base}/healthz`), 20_000, '/healthz answered while starting');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', phase: 'starting' });
    const ready = await getJson(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', reason: expect.stringMatching(/^starting: /) });
    const api = await getJson(`${base}/plugins`);
    expect(api.status).toBe(503);
    expect(api.body).toMatchObject({ error: 'starting' });
    // Refused before the handshake, as a load balancer retries on another replica.
    const ws = await upgrade(`ws://127.0.0.1:${port}/ws`);
    expect(ws.status).toBe(503);
    expect(ws.retryAfter).toBe('5');
    expect(JSON.parse(ws.body)).toMatchObject({ error: 'starting' });
    // Still starting: the module has not loaded.
    expect(logs.join('')).not.toMatch(/statscache listening/);

    writeFileSync(join(dir.path, 'go'), '');
    await eventually(
      async () => ((await answer(`${base}/readyz`))?.status === 200 ? true : undefined),
      30_000,
      'the service ready on the same port',
    );
    const running = await getJson(`${base}/healthz`);
    expect(running.status).toBe(200);
    expect(running.body).toMatchObject({ status: 'ok', phase: 'running' });
    expect((await getJson(`${base}/plugins`)).status).toBe(200);
    const live = await upgrade(`ws://127.0.0.1:${port}/ws`);
    expect(live.status).toBe(101);
    live.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
