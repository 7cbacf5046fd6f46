import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { childrenWith } from '../helpers/children.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * The child that builds GET /admin/export ended by SIGKILL from outside (the OOM killer picks
 * the process that has touched the most of a large data file): the route answered 500
 * `snapshot_failed` "the snapshot failed: … see the server log", the server log said nothing,
 * and /metrics counted it as a POST /admin/snapshot route. Real service, real child, real HTTP.
 */
const TOKEN = 'export-child-killed-token-0123456789';

describe('an export child killed from outside', () => {
  const dir = tempDir();
  let service: Service | null = null;
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it('answers 500 export_failed naming the signal, logs it, counts it under /admin/export and as a failed export, and the next export works', async () => {
    const lines: { level: number; msg: string; err?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadConfig({
      env: { STATSCACHE_ADMIN_TOKEN: TOKEN },
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600 },
    });
    const s = await Service.build({ config, logger });
    service = s;
    await s.start();
    for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 200)) s.accept(m as never);
    await s.settled();
    await s.snapshot();
    const base = `http://127.0.0.1:${s.server?.port ?? 0}`;
    const auth = { Authorization: `Bearer ${TOKEN}` };

    const answer = fetch(`${base}/admin/export`, { headers: auth });
    // Killed as soon as it is seen: a Node process takes tens of ms just to start.
    let killed = 0;
    const deadline = Date.now() + 10_000;
    while (killed === 0 && Date.now() < deadline) {
      for (const pid of childrenWith('export-child.js')) {
        process.kill(pid, 'SIGKILL');
        killed++;
      }
      if (killed === 0) await new Promise((r) => setTimeout(r, 2));
    }
    expect(killed).toBe(1);
    const res = await answer;
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'export_failed', detail: expect.stringMatching(/SIGKILL/) });
    const logged = lines.find((l) => l.level === 50 && /\/admin\/export/.test(l.msg));
    expect(logged?.err).toMatch(/SIGKILL/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/statscache_http_requests_total\{route="\/admin\/export",method="GET",status="500"\} 1/);
    // Ended as failed, and no longer shown in progress.
    expect(metrics).toMatch(/^statscache_exports_in_progress 0$/m);
    expect(metrics).toMatch(/^statscache_exports_total\{outcome="failed"\} 1$/m);

    const again = await fetch(`${base}/admin/export`, { headers: auth });
    expect(again.status).toBe(200);
    expect((await again.arrayBuffer()).byteLength).toBeGreaterThan(0);
  }, 60_000);
});
