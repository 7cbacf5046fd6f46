import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { eventually, getJson, tempDir } from '../helpers/service-process.js';
import { type SpawnedIntoPipe, spawnIntoPipe } from '../helpers/stopped-log-reader.js';

/**
 * Log lines dropped while the service starts (stdout a full pipe nobody reads) were counted but
 * not told: /healthz said `ok` with no `degraded` through the start-up probe listener, the
 * replay and the start-up backfill, which can last minutes, and /readyz's 503 said only why it
 * was not ready. They now say it as they do once running: the same `degraded` reason, for as
 * long as lines are being dropped. Real processes; the drops are the first lines it logs (a
 * warning for each unknown STATSCACHE_ variable) into a pipe filled before it starts.
 */
const dir = tempDir();
const spawned: SpawnedIntoPipe[] = [];
const servers: Server[] = [];
const fake = new FakeDatagrepper();
afterAll(async () => {
  for (const { child } of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers) server.close();
  await fake.close();
  dir.remove();
});

/** A warning line each at start-up: more than --log-buffer-bytes 4096 of them. */
const UNKNOWN_VARIABLES = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`STATSCACHE_NO_SUCH_${i}`, 'x']));
const DROPPED = /^log lines dropped: stdout has not taken the log since .*; \d+ lines dropped since/;

async function spawnFull(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedIntoPipe> {
  const home = join(dir.path, name);
  mkdirSync(home);
  const svc = await spawnIntoPipe(home, ['--data-dir', join(home, 'data'), '--log-buffer-bytes', '4096', ...args], {
    full: true,
    env: { ...UNKNOWN_VARIABLES, ...env },
  });
  spawned.push(svc);
  return svc;
}

/** /healthz and /readyz once /healthz reports `phase`. */
async function probesIn(svc: SpawnedIntoPipe, phase: string) {
  const health = await eventually(
    async () => {
      const r = await getJson(`${svc.base}/healthz`).catch(() => null);
      return r !== null && (r.body as { phase?: string }).phase === phase ? r : undefined;
    },
    30_000,
    `/healthz in phase ${phase}`,
  );
  return { health, ready: await getJson(`${svc.base}/readyz`) };
}

describe('log lines dropped while the service starts', () => {
  it('are told by the start-up probe listener (held in --bootstrap)', async () => {
    // A peer that never answers its export: start-up stays in the probe listener's hands.
    let asked = false;
    const peer = createServer(() => {
      asked = true;
    });
    servers.push(peer);
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;
    const svc = await spawnFull('bootstrap', ['--bootstrap', url], { STATSCACHE_ADMIN_TOKEN: 'a'.repeat(32) });
    await eventually(() => (asked ? true : undefined), 30_000, 'the export asked for');
    const { health, ready } = await probesIn(svc, 'starting');
    expect(health.status).toBe(200);
    expect((health.body as { degraded?: string }).degraded).toMatch(DROPPED);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      reason: expect.stringMatching(/^starting/),
      degraded: expect.stringMatching(DROPPED),
    });
  }, 90_000);

  it('are told through the start-up backfill, and once running while they go on', async () => {
    let release: () => void = () => undefined;
    fake.hold = new Promise<void>((r) => (release = r));
    await fake.start();
    const svc = await spawnFull('backfill', ['--datagrepper', fake.url, '--ready-timeout', '600']);
    await eventually(() => (fake.requests > 0 ? true : undefined), 30_000, 'the start-up backfill asking');
    const { health, ready } = await probesIn(svc, 'backfilling');
    expect(health.status).toBe(200);
    expect((health.body as { degraded?: string }).degraded).toMatch(DROPPED);
    expect(ready.status).toBe(503);
    expect((ready.body as { degraded?: string }).degraded).toMatch(DROPPED);
    const dropped = Number(/; (\d+) lines dropped since/.exec((health.body as { degraded: string }).degraded)?.[1]);
    expect(dropped).toBeGreaterThan(0);

    release();
    fake.hold = null;
    const running = await probesIn(svc, 'running');
    expect(running.ready.status).toBe(200);
    for (const r of [running.health, running.ready])
      expect((r.body as { degraded?: string }).degraded).toMatch(DROPPED);
  }, 90_000);
});
