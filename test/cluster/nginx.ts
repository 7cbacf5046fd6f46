import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { type RunningService, tempDir } from '../helpers/service-process.js';

export const NGINX = process.env['STATSCACHE_TEST_NGINX'] ?? '/usr/sbin/nginx';
const SHIPPED = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url));

export interface RunningNginx {
  readonly base: string;
  readonly child: ChildProcess;
  readonly logs: string[];
  stop(): Promise<void>;
}

/**
 * Runs Debian's nginx with the shipped deploy/nginx.conf, unchanged but for where it listens
 * and which replicas it balances (the three `server 127.0.0.1:808N` lines), in a private
 * prefix under `dir`, in the foreground.
 */
export async function startNginx(dir: string, port: number, upstreams: readonly number[]): Promise<RunningNginx> {
  if (!existsSync(NGINX))
    throw new Error(`${NGINX} not found: install Debian's nginx-light (.ci/run does) or set STATSCACHE_TEST_NGINX`);
  let shipped = readFileSync(SHIPPED, 'utf8');
  const servers = [...shipped.matchAll(/^\s*server 127\.0\.0\.1:\d+ .*$/gm)];
  if (servers.length !== upstreams.length)
    throw new Error(`deploy/nginx.conf lists ${servers.length} upstream servers, the test runs ${upstreams.length}`);
  servers.forEach((m, i) => {
    shipped = shipped.replace(m[0], m[0].replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${upstreams[i]}`));
  });
  shipped = shipped.replace(/^\s*listen 80;$/m, `    listen 127.0.0.1:${port};`);
  mkdirSync(dir, { recursive: true });
  // Workers run as nobody when the master is root: they must be able to write the temp paths.
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'statscache.conf'), shipped);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/statscache.conf;
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${logs.join('')}`);
    try {
      await fetch(`${base}/readyz`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${logs.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    base,
    child,
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A cluster test's replica, nginx and SSE streams, all ended and removed after its file (afterAll). */
export interface NginxFixture {
  readonly dir: { readonly path: string };
  svc: RunningService | undefined;
  nginx: RunningNginx | undefined;
  /** An SSE stream of `ident` through nginx as the client `ip`: its status once its head arrives, and its body when refused. */
  stream(base: string, ident: string, ip: string): Promise<{ status: number; body: string; abort: AbortController }>;
}

export function nginxFixture(prefix: string): NginxFixture {
  const dir = tempDir(prefix);
  const streams: AbortController[] = [];
  const fixture: NginxFixture = {
    dir,
    svc: undefined,
    nginx: undefined,
    stream: async (base, ident, ip) => {
      const abort = new AbortController();
      streams.push(abort);
      const res = await fetch(`${base}/api/${ident}/stream`, {
        headers: { 'X-Forwarded-For': ip, Accept: 'text/event-stream' },
        signal: abort.signal,
      });
      return { status: res.status, body: res.status === 200 ? '' : await res.text(), abort };
    },
  };
  afterAll(async () => {
    for (const s of streams) s.abort();
    await fixture.nginx?.stop();
    await fixture.svc?.stop('SIGTERM');
    dir.remove();
  });
  return fixture;
}
