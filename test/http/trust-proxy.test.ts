/**
 * `--trust-proxy`: per-IP limits key on the client a trusted reverse proxy names in
 * X-Forwarded-For, and on the TCP peer otherwise. A real service (uWS, ZeroMQ, LMDB) in this
 * process, real WebSocket and HTTP clients; the last part runs the shipped deploy/nginx.conf.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigKey } from '../../src/config.js';
import { NGINX, type RunningNginx, startNginx } from '../cluster/nginx.js';
import { detailOf, type Opened, sse, upgrade, xff } from '../helpers/live-connections.js';
import { CLI, tempDir } from '../helpers/service-process.js';
import { freePort, type Live, RawClient, startLive } from '../ws/harness.js';

/** Subscribes to `ids` (one view each) and resolves with every answer, snapshot or error. */
async function subscribeAll(c: RawClient, ids: readonly number[]) {
  const from = c.frames.length;
  for (const id of ids) c.send({ op: 'subscribe', ident: 'volume-1m', params: { rows_per_page: id }, id });
  return Promise.all(
    ids.map((id) =>
      c.next((f) => (f.type === 'snapshot' || f.type === 'error') && f['id'] === id, `answer to ${id}`, from),
    ),
  );
}

describe('--trust-proxy 127.0.0.1: each client X-Forwarded-For names has its own allowance', () => {
  let live: Live;
  const open: Opened[] = [];
  const keep = (o: Opened) => {
    open.push(o);
    return o;
  };
  beforeAll(async () => {
    live = await startLive({ trustProxy: ['127.0.0.1'], wsMaxConnectionsPerIp: 2, wsMaxSubscriptionsPerIp: 2 });
  });
  afterAll(async () => {
    for (const o of open) o.close();
    await live?.close();
  });

  it('connections: a third from A is refused, while B (WebSocket) and C (SSE) still get in', async () => {
    const A = '203.0.113.7';
    for (let i = 0; i < 2; i++) expect(keep(await upgrade(live.wsUrl, xff(A))).status).toBe(101);
    const third = await upgrade(live.wsUrl, xff(A));
    expect(third.status).toBe(429);
    expect(detailOf(third)).toBe(`too many open connections from ${A}`);
    const stream = await sse(live.base, xff(A));
    expect(stream.status).toBe(429);
    expect(detailOf(stream)).toBe(`over 2 open streams from ${A}`);
    expect(keep(await upgrade(live.wsUrl, xff('198.51.100.4'))).status).toBe(101);
    expect(keep(await sse(live.base, xff('192.0.2.44'))).status).toBe(200);
  });

  it('subscriptions: D is refused its third, E still subscribes', async () => {
    const d = await RawClient.open(live.wsUrl, { headers: xff('203.0.113.20') });
    const e = await RawClient.open(live.wsUrl, { headers: xff('203.0.113.21') });
    for (const c of [d, e]) open.push({ status: 101, body: '', close: () => c.close() });
    const answers = await subscribeAll(d, [1, 2, 3]);
    expect(answers.map((f) => f.type)).toEqual(['snapshot', 'snapshot', 'error']);
    expect(answers[2]).toMatchObject({ error: 'too_many_subscriptions_per_ip' });
    expect(answers[2]?.['detail']).toContain('203.0.113.20 holds 2');
    expect((await subscribeAll(e, [3]))[0]).toMatchObject({ type: 'snapshot' });
  });

  it('a forged chain counts as its rightmost untrusted address; trusted hops are skipped; all header lines are read', async () => {
    const F = '203.0.113.50';
    for (let i = 0; i < 2; i++) expect(keep(await upgrade(live.wsUrl, xff(F))).status).toBe(101);
    for (const chain of [`198.51.100.66, ${F}`, `198.51.100.67, ${F}, 127.0.0.1`, ['198.51.100.68', F]]) {
      const forged = await upgrade(live.wsUrl, xff(chain));
      expect(forged.status, JSON.stringify(chain)).toBe(429);
      expect(detailOf(forged)).toBe(`too many open connections from ${F}`);
    }
    // F written on the left is the client's own claim: the connection counts as 198.51.100.69.
    expect(keep(await upgrade(live.wsUrl, xff(`${F}, 198.51.100.69`))).status).toBe(101);
  });
});

describe.each([
  ['without --trust-proxy', {}],
  ['with --trust-proxy not naming the peer', { trustProxy: ['10.0.0.0/8', '::1'] }],
])(
  '%s, X-Forwarded-For is ignored: a client cannot dodge its cap with it',
  (_, flags: Partial<Record<ConfigKey, unknown>>) => {
    let live: Live;
    const open: Opened[] = [];
    beforeAll(async () => {
      live = await startLive({ ...flags, wsMaxConnectionsPerIp: 2 });
    });
    afterAll(async () => {
      for (const o of open) o.close();
      await live?.close();
    });

    it('every connection from 127.0.0.1 counts as 127.0.0.1, whatever it claims', async () => {
      open.push(await upgrade(live.wsUrl, xff('203.0.113.1')), await upgrade(live.wsUrl, xff('203.0.113.2')));
      expect(open.map((o) => o.status)).toEqual([101, 101]);
      const ws = await upgrade(live.wsUrl, xff('203.0.113.3'));
      expect(ws.status).toBe(429);
      expect(detailOf(ws)).toBe('too many open connections from 127.0.0.1');
      const stream = await sse(live.base, xff('203.0.113.4'));
      expect(stream.status).toBe(429);
      expect(detailOf(stream)).toBe('over 2 open streams from 127.0.0.1');
    });
  },
);

/** The CLI to its end, killed if it outlives `ms` (a value it wrongly accepts starts a service). */
function runServe(args: readonly string[], env: NodeJS.ProcessEnv = {}, ms = 20_000) {
  const dir = tempDir('statscache-trust-');
  const argv = [CLI, 'serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', '--data-dir', join(dir.path, 'd'), ...args];
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      dir.remove();
      resolve({ code, stderr });
    }),
  );
}

describe('a bad --trust-proxy value stops start-up, naming it', () => {
  it('from a flag (exit 2, the value and the flag in the message)', async () => {
    const r = await runServe(['--trust-proxy', '127.0.0.1', '--trust-proxy', '10.0.0.0/33']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('SC_CONFIG_INVALID');
    expect(r.stderr).toContain('setting "trustProxy" (flag --trust-proxy): "10.0.0.0/33" is not an IP address');
  });

  it('from the environment', async () => {
    const r = await runServe([], { STATSCACHE_TRUST_PROXY: '127.0.0.1,nginx.internal' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      'setting "trustProxy" (environment STATSCACHE_TRUST_PROXY): "nginx.internal" is not an IP address',
    );
  });
});

/** The audit's case: four dashboards of 27 views each, through the shipped nginx config. */
describe.runIf(existsSync(NGINX))('behind deploy/nginx.conf (real nginx)', () => {
  const DASHBOARDS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const VIEWS = Array.from({ length: 27 }, (_, i) => i + 1);
  const running: { live: Live; nginx: RunningNginx; dir: { remove(): void } }[] = [];
  afterAll(async () => {
    for (const r of running) {
      await r.nginx.stop();
      await r.live.close();
      r.dir.remove();
    }
  });
  const behindNginx = async (flags: Partial<Record<ConfigKey, unknown>>) => {
    const live = await startLive(flags);
    const dir = tempDir('statscache-nginx-');
    const nginx = await startNginx(join(dir.path, 'nginx'), await freePort(), [live.port, live.port, live.port]);
    running.push({ live, nginx, dir });
    const wsUrl = `${nginx.base.replace('http:', 'ws:')}/ws`;
    const clients: RawClient[] = [];
    const dashboard = async (localAddress: string, headers: Record<string, string> = {}) => {
      const c = await RawClient.open(wsUrl, { localAddress, headers });
      clients.push(c);
      return c;
    };
    return { wsUrl, dashboard, done: () => clients.forEach((c) => c.close()) };
  };

  it('without --trust-proxy every client is nginx: the fourth dashboard is refused (why deploy/statscache.service passes --trust-proxy)', async () => {
    const { dashboard, done } = await behindNginx({});
    const types: string[][] = [];
    for (const ip of DASHBOARDS) types.push((await subscribeAll(await dashboard(ip), VIEWS)).map((f) => f.type));
    expect(
      types
        .slice(0, 3)
        .flat()
        .every((t) => t === 'snapshot'),
    ).toBe(true);
    expect(types[3]?.filter((t) => t === 'error')).toHaveLength(4 * 27 - 100);
    done();
  });

  it('with --trust-proxy 127.0.0.1 each dashboard has its own allowance, and a forged header through nginx counts as its sender', async () => {
    const { wsUrl, dashboard, done } = await behindNginx({ trustProxy: ['127.0.0.1'], wsMaxConnectionsPerIp: 2 });
    for (const ip of DASHBOARDS) {
      const answers = await subscribeAll(await dashboard(ip), VIEWS);
      expect(
        answers.every((f) => f.type === 'snapshot'),
        ip,
      ).toBe(true);
    }
    // 127.0.0.2 holds one connection: one more is allowed whatever it claims, then it is refused.
    await dashboard('127.0.0.2', xff('198.51.100.9'));
    const refused = await RawClient.open(wsUrl, { localAddress: '127.0.0.2', headers: xff('198.51.100.10') }).then(
      () => 'opened',
      (err: Error) => err.message,
    );
    expect(refused).toBe('Unexpected server response: 429');
    done();
  });
});
