import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Publisher } from 'zeromq';
import { StatscacheClient, type WebSocketCtor } from '../../examples/ws-client/statscache-client.js';
import type { ServerFrame } from '../../src/http/ws-frames.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { recentSamples } from '../helpers/fixtures.js';
import { freePort } from '../helpers/free-port.js';
import { startProxy, type RunningProxy } from '../helpers/proxy-process.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { digestsOf, journaledAndApplied, metricOf, waitReady } from '../helpers/probes.js';
import { startNginx, type RunningNginx } from './nginx.js';

/**
 * The whole deployment on loopback (docs/deployment.md): a publisher → `statscache proxy` →
 * three replicas → nginx with the shipped deploy/nginx.conf, plus a reference instance fed by
 * the same proxy. One replica is SIGKILLed (the one a WebSocket client holds through nginx), a
 * fresh one is bootstrapped from a peer on its port, and then every replica must show the
 * reference's digests and nginx must serve the reference's /api answers.
 */
const TOKEN = 'cluster-test-token-0123456789abcdef';
const env = { STATSCACHE_ADMIN_TOKEN: TOKEN };
const WATCHED = 'volume-by-category-1d';

describe('cluster on loopback: proxy, three replicas, nginx, SIGKILL and bootstrap', () => {
  const dirs: { path: string; remove(): void }[] = [];
  const services: RunningService[] = [];
  let proxy: RunningProxy | undefined;
  let nginx: RunningNginx | undefined;
  let client: StatscacheClient | undefined;
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });

  afterAll(async () => {
    client?.close();
    await nginx?.stop();
    for (const s of services) await s.stop('SIGKILL');
    await proxy?.stop();
    pub.close();
    for (const d of dirs) d.remove();
  });

  const serve = async (port: number, extra: string[] = []) => {
    const dir = tempDir();
    dirs.push(dir);
    if (!proxy) throw new Error('proxy first');
    const s = await startService(
      // Behind nginx as deploy/statscache.service runs it: per-IP limits count clients, not nginx.
      [
        '--data-dir',
        dir.path,
        '--connect',
        proxy.backend,
        '--port',
        String(port),
        '--trust-proxy',
        '127.0.0.1',
        ...extra,
      ],
      env,
    );
    services.push(s);
    return s;
  };

  /** Probe frames (invalid JSON: counted, skipped) until every service has seen one through the proxy. */
  const joined = async (list: readonly RunningService[]) => {
    const before = await Promise.all(list.map((s) => metricOf(s.base, 'statscache_bus_frames_total')));
    await eventually(
      async () => {
        await pub.send(['org.test.statscache.probe', '{not json']);
        await new Promise((r) => setTimeout(r, 50));
        const now = await Promise.all(list.map((s) => metricOf(s.base, 'statscache_bus_frames_total')));
        return now.every((n, i) => n > (before[i] as number)) ? true : undefined;
      },
      20_000,
      'subscriptions through the proxy',
    );
  };

  const publish = async (list: readonly Sample[], total: number, to: readonly RunningService[]) => {
    for (const e of list) await pub.send([e.topic, JSON.stringify(e)]);
    for (const s of to)
      await eventually(
        async () => ((await journaledAndApplied(s.base, total)) ? true : undefined),
        30_000,
        `${total} journaled and applied by ${s.base}`,
      );
  };

  it('replaces a killed replica by bootstrap and serves the reference answers through nginx', async () => {
    await pub.bind('tcp://127.0.0.1:*');
    proxy = await startProxy(pub.lastEndpoint as string);
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const [refPort, nginxPort, ...replicaPorts] = ports as [number, number, number, number, number];
    const reference = await serve(refPort);
    const replicas = await Promise.all(replicaPorts.map((p) => serve(p)));
    for (const s of [reference, ...replicas]) await waitReady(s, 60_000);
    await joined([reference, ...replicas]);
    const ngxDir = tempDir('statscache-nginx-');
    dirs.push(ngxDir);
    nginx = await startNginx(join(ngxDir.path, 'nginx'), nginxPort, replicaPorts);

    // A live client through nginx, then find the replica it landed on.
    const frames: ServerFrame[] = [];
    client = new StatscacheClient({
      url: `ws://127.0.0.1:${nginxPort}/ws`,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      initialDelayMs: 50,
      maxDelayMs: 400,
      onFrame: (f) => frames.push(f),
    });
    const sub = client.subscribe(WATCHED);
    await sub.ready();
    const holders = await Promise.all(replicas.map((s) => metricOf(s.base, 'statscache_ws_clients')));
    const victimAt = holders.indexOf(1);
    expect(holders.filter((n) => n === 1)).toHaveLength(1);
    const victim = replicas[victimAt] as RunningService;
    const survivors = replicas.filter((s) => s !== victim);
    const peer = survivors[0] as RunningService;

    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    const upTo = (n: number) => acceptedOnce(samples.slice(0, n)).length;
    await publish(samples.slice(0, 250), upTo(250), [reference, ...replicas]);
    expect(
      (await fetch(`${peer.base}/admin/snapshot`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(200);

    expect(await victim.stop('SIGKILL')).toBeNull();
    await publish(samples.slice(250, 400), upTo(400), [reference, ...survivors]);
    // The client noticed, reconnected through nginx to a survivor, and got a fresh snapshot (another epoch): no silent gap.
    await eventually(() => (client && client.stats.connects >= 2 && sub.seq !== null ? true : undefined), 20_000);
    expect(frames.some((f) => f.type === 'snapshot' && (f as { reason?: string }).reason === 'resume_epoch')).toBe(
      true,
    );

    const fresh = await serve(replicaPorts[victimAt] as number, ['--bootstrap', peer.base]);
    await waitReady(fresh, 60_000);
    expect(fresh.logs.some((l) => l.includes('bootstrapped from the peer'))).toBe(true);
    await joined([reference, ...survivors, fresh]);
    const all = acceptedOnce(samples).length;
    await publish(samples.slice(400), all, [reference, ...survivors, fresh]);

    const want = await digestsOf(reference.base);
    for (const s of [...survivors, fresh])
      expect({ at: s.base, digests: await digestsOf(s.base) }).toEqual({ at: s.base, digests: want });
    // The reference itself is right, and nginx (whichever replica answers each page) agrees with it.
    const truth = referenceViews(acceptedOnce(samples) as never);
    const viaRef = await servedViews(reference.base, truth.keys());
    const viaNginx = await servedViews(nginx.base, truth.keys());
    for (const [ident, rows] of truth) {
      expect({ ident, rows: viaRef.get(ident) }).toEqual({ ident, rows });
      expect({ ident, rows: viaNginx.get(ident) }).toEqual({ ident, rows });
    }
    // The WebSocket client holds exactly what HTTP serves for its view.
    const http = (await getJson(`${nginx.base}/api/${WATCHED}`)).body as unknown[];
    await eventually(
      () => (JSON.stringify(sub.list()) === JSON.stringify(http) ? true : undefined),
      10_000,
      'WS view = HTTP view',
    );
    expect(client.stats.gaps).toBe(0);
    // Operator routes stay on the replicas' own ports: the public edge answers 404 for them.
    expect((await fetch(`${nginx.base}/metrics`)).status).toBe(404);
    expect((await fetch(`${nginx.base}/admin/export`)).status).toBe(404);
    expect((await fetch(`${reference.base}/metrics`)).status).toBe(200);
  });
});
