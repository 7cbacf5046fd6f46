import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { eventually, startService } from '../helpers/service-process.js';
import { nginxFixture, startNginx } from './nginx.js';

/** The cap deploy/nginx.conf puts on one client address (limit_conn statscache_per_client). */
const SHIPPED_CAP = Number(
  /^\s*limit_conn statscache_per_client (\d+);$/m.exec(
    readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8'),
  )?.[1],
);

/**
 * One client holding streams open through the shipped deploy/nginx.conf: nothing capped them in
 * nginx, and each held a descriptor on nginx and one on a replica, so one client opening hundreds
 * filled the replica's open-file limit for everyone (README, "HTTP": EMFILE). Each stream names a
 * client of its own in X-Forwarded-For, so the replica's per-IP limits (which read that header
 * through --trust-proxy) refuse none: the cap under test is nginx's, on the connecting address.
 */
describe("a client's streams through nginx", () => {
  const f = nginxFixture('statscache-nginx-cap-');
  // Each stream its own client in X-Forwarded-For.
  const stream = (base: string, n: number) => f.stream(base, 'volume-1s', `10.1.${n >> 8}.${n & 255}`);

  it('are capped per client address at the shipped limit, with 429, and a freed place is taken again', async () => {
    expect(SHIPPED_CAP).toBeGreaterThan(0);
    const svc = (f.svc = await startService([
      '--trust-proxy',
      '127.0.0.1',
      '--ws-max-connections',
      String(SHIPPED_CAP * 4),
    ]));
    const port = await freePort();
    const nginx = (f.nginx = await startNginx(join(f.dir.path, 'nginx'), port, [svc.port, svc.port, svc.port]));
    const held: { status: number; abort: AbortController }[] = [];
    for (let n = 0; n < SHIPPED_CAP; n++) held.push(await stream(nginx.base, n));
    expect(held.filter((s) => s.status !== 200)).toEqual([]);

    const over = await stream(nginx.base, SHIPPED_CAP);
    expect(over.status).toBe(429);
    // nginx's own answer, not a replica's JSON refusal.
    expect(over.body).toMatch(/nginx/);
    // Short requests from the same address wait for no stream: they are refused too while it is full.
    expect((await fetch(`${nginx.base}/readyz`)).status).toBe(429);

    held[0]?.abort.abort();
    // nginx frees the place once it reads the client's close.
    let next = SHIPPED_CAP + 1;
    await eventually(
      async () => {
        const r = await stream(nginx.base, next++);
        r.abort.abort();
        return r.status === 200 || undefined;
      },
      10_000,
      'a stream admitted again after one closed',
    );
    const log = readFileSync(join(f.dir.path, 'nginx', 'error.log'), 'utf8');
    expect(log).toMatch(/limiting connections by zone "statscache_per_client"/);
  });
});
