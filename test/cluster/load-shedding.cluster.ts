import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startService } from '../helpers/service-process.js';
import { nginxFixture, startNginx } from './nginx.js';

/**
 * A replica that sheds load answers 503 (a live view past --ws-max-views, a filtered /raw scan
 * past its gate): that is the client's to retry, not a dead replica. Through the shipped
 * deploy/nginx.conf, such a 503 was retried on the other upstreams and counted toward their
 * max_fails: two of them took every upstream out of the pool ("upstream server temporarily
 * disabled") and the next reader got 502 "no live upstreams".
 */
describe('load shedding through nginx', () => {
  const f = nginxFixture('statscache-nginx-shed-');
  const stream = async (base: string, ident: string, ip: string) => (await f.stream(base, ident, ip)).status;

  it("a replica's 503 reaches the client and leaves the replica in the pool", async () => {
    // Two live views in all, one per client: the third client's view is refused with 503.
    const svc = (f.svc = await startService([
      '--trust-proxy',
      '127.0.0.1',
      '--ws-max-views',
      '2',
      '--ws-max-subscriptions-per-ip',
      '1',
    ]));
    const port = await freePort();
    // Three upstream entries, one replica: nginx keeps failure counts per entry.
    const nginx = (f.nginx = await startNginx(join(f.dir.path, 'nginx'), port, [svc.port, svc.port, svc.port]));
    expect(await stream(nginx.base, 'volume-1s', '10.0.0.1')).toBe(200);
    expect(await stream(nginx.base, 'volume-5s', '10.0.0.2')).toBe(200);
    const refused: number[] = [];
    for (const ip of ['10.0.0.3', '10.0.0.4', '10.0.0.5']) refused.push(await stream(nginx.base, 'volume-1m', ip));
    expect(refused).toEqual([503, 503, 503]);
    const log = readFileSync(join(f.dir.path, 'nginx', 'error.log'), 'utf8');
    expect(log).not.toMatch(/temporarily disabled|no live upstreams/);
    expect((await fetch(`${nginx.base}/api/volume-1m`)).status).toBe(200);
  });
});
