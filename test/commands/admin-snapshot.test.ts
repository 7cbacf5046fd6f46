import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotCancelledError } from '../../snapshots/snapshot-cancelled.js';
import { SnapshotUnmeasuredError } from '../../snapshots/snapshot-unmeasured.js';
import { createAdminHandler } from '../../src/http/admin-routes.js';
import type { HttpRequest } from '../../src/http/responses.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

const TOKEN = 'correct-horse-battery-staple';

const request = (method: string, path: string, authorization = ''): HttpRequest => ({
  method,
  path,
  query: '',
  header: (name) => (name === 'authorization' ? authorization : ''),
});

describe('POST /admin/snapshot', () => {
  it('is absent without a configured token, and answers 401/404/405 before doing anything', async () => {
    let taken = 0;
    const snapshot = async () => {
      taken++;
      return { generation: 7, slot: 1, journalSeq: 3, durationMs: 1, written: 2, removed: 0, bytes: 10 };
    };
    expect(createAdminHandler({ adminToken: TOKEN, snapshot })(request('GET', '/api/volume-1m'))).toBeNull();
    const disabled = await createAdminHandler({ adminToken: null, snapshot })(
      request('POST', '/admin/snapshot', `Bearer ${TOKEN}`),
    );
    expect(disabled?.status).toBe(404);
    const admin = createAdminHandler({ adminToken: TOKEN, snapshot });
    expect((await admin(request('POST', '/admin/snapshot')))?.status).toBe(401);
    expect((await admin(request('POST', '/admin/snapshot', 'Bearer wrong-token-of-some-length')))?.status).toBe(401);
    expect((await admin(request('POST', '/admin/snapshot', `Basic ${TOKEN}`)))?.status).toBe(401);
    expect((await admin(request('GET', '/admin/snapshot', `Bearer ${TOKEN}`)))?.status).toBe(405);
    expect((await admin(request('POST', '/admin/other', `Bearer ${TOKEN}`)))?.status).toBe(404);
    expect(taken).toBe(0);
    const ok = await admin(request('POST', '/admin/snapshot', `Bearer ${TOKEN}`));
    expect(ok?.status).toBe(200);
    expect(JSON.parse(ok?.body as string)).toMatchObject({ generation: 7, journalSeq: 3 });
    expect(taken).toBe(1);
    const failing = await createAdminHandler({
      adminToken: TOKEN,
      snapshot: () => Promise.reject(new Error('disk full')),
    })(request('POST', '/admin/snapshot', `Bearer ${TOKEN}`));
    expect(failing?.status).toBe(500);
    expect(JSON.parse(failing?.body as string)).toMatchObject({ error: 'snapshot_failed' });
    // Cancelled by the service's close(): no disk failed, so not snapshot_failed (test/e2e/close-during-snapshot).
    const cancelled = await createAdminHandler({
      adminToken: TOKEN,
      snapshot: () => Promise.reject(new SnapshotCancelledError()),
    })(request('POST', '/admin/snapshot', `Bearer ${TOKEN}`));
    expect(cancelled?.status).toBe(503);
    expect(JSON.parse(cancelled?.body as string)).toMatchObject({
      error: 'snapshot_cancelled',
      detail: expect.stringMatching(/the service is closing/),
    });
    // Written, its size walk ended by close(): the report, and not snapshot_failed (test/e2e/close-during-size-walk).
    const report = { generation: 4, slot: 0, journalSeq: 9, durationMs: 1, written: 2, removed: 0, bytes: 10 };
    const unmeasured = await createAdminHandler({
      adminToken: TOKEN,
      snapshot: () => Promise.reject(new SnapshotUnmeasuredError(report)),
    })(request('POST', '/admin/snapshot', `Bearer ${TOKEN}`));
    expect(unmeasured?.status).toBe(503);
    expect(JSON.parse(unmeasured?.body as string)).toMatchObject({
      error: 'snapshot_unmeasured',
      detail: expect.stringMatching(/generation 4 was written .*the service is closing/),
      report,
    });
    // What failed may not print (String() of a null-prototype object throws): still a 500 saying
    // so, not a rejected answer the HTTP adapter never sends.
    for (const thrown of [Object.create(null), { message: Object.create(null) }]) {
      const unprintable = await createAdminHandler({
        adminToken: TOKEN,
        snapshot: () => Promise.reject(thrown),
        exportSnapshot: () => Promise.reject(thrown),
      });
      for (const [method, path, error] of [
        ['POST', '/admin/snapshot', 'snapshot_failed'],
        ['GET', '/admin/export', 'export_failed'],
      ] as const) {
        const res = await unprintable(request(method, path, `Bearer ${TOKEN}`));
        expect(res?.status).toBe(500);
        expect(JSON.parse(res?.body as string)).toMatchObject({ error, detail: expect.any(String) });
      }
    }
  });

  describe("statscache snapshot take, against a real service's admin handler", () => {
    const dir = tempDir();
    let service: Service;
    let server: Server;
    let url = '';

    beforeAll(async () => {
      const config = loadConfig({ flags: { dataDir: dir.path, adminToken: TOKEN } });
      service = await Service.build({ config, logger: createLogger('silent') });
      service.accept({
        topic: 'org.fedoraproject.prod.buildsys.build.state.change',
        timestamp: 1_700_000_000,
        msg: { owner: 'alice', name: 'pkg' },
        msg_id: 'm-1',
      });
      // A minimal HTTP transport for the handler until the uWS adapter routes /admin/* (same request shape).
      server = createServer((req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        const pending = service.admin({
          method: req.method ?? 'GET',
          path: u.pathname,
          query: u.search.slice(1),
          header: (n) => String(req.headers[n] ?? ''),
        });
        if (!pending) return void res.writeHead(404).end();
        void pending.then((r) => res.writeHead(r.status, r.headers).end(r.body));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((r) => server.close(r));
      await service.stop();
      dir.remove();
    });

    it('takes a snapshot with the token from --token or STATSCACHE_ADMIN_TOKEN, and fails clearly without it', async () => {
      const first = await runCli(['snapshot', 'take', '--url', url, '--token', TOKEN]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const report = JSON.parse(first.stdout) as { generation: number; journalSeq: number; written: number };
      expect(report.generation).toBe(1);
      expect(report.journalSeq).toBe(1);
      expect(report.written).toBeGreaterThan(0);
      expect(service.lastSnapshot?.generation).toBe(1);

      service.accept({
        topic: 'org.fedoraproject.prod.buildsys.build.state.change',
        timestamp: 1_700_000_001,
        msg: { owner: 'bob', name: 'pkg' },
        msg_id: 'm-2',
      });
      const second = await runCli(['snapshot', 'take', '--url', url], { STATSCACHE_ADMIN_TOKEN: TOKEN });
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ generation: 2, journalSeq: 2 });

      const wrong = await runCli(['snapshot', 'take', '--url', url, '--token', 'not-the-token-at-all']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/answered 401: unauthorized/);
      const none = await runCli(['snapshot', 'take', '--url', url]);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no admin token/);
      const down = await runCli(['snapshot', 'take', '--url', 'http://127.0.0.1:1', '--token', TOKEN]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/cannot reach/);
      // No scheme: an operator's typo, exit 2 (it was a scheme "localhost:" and a fetch failure, exit 1).
      const bare = await runCli(['snapshot', 'take', '--url', 'localhost:8080', '--token', TOKEN]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/is not a URL like http:\/\/127\.0\.0\.1:8080 \(http or https\)/);
    });

    it('stops reading an answer past 1 MiB (a --url that streams), exit 1 naming it', async () => {
      // An endless answer: before, read whole (1.4 GB of heap after 15 s) until the 120 s timeout.
      const chunk = Buffer.alloc(64 * 1024, 120);
      const endless = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
        };
        res.on('drain', pump);
        req.on('close', () => res.destroy());
        pump();
      });
      await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
      try {
        const port = (endless.address() as AddressInfo).port;
        const taken = await runCli(['snapshot', 'take', '--url', `http://127.0.0.1:${port}`, '--token', TOKEN]);
        expect(taken.code).toBe(1);
        expect(taken.stderr).toMatch(/answered 200 with more than 1048576 bytes.*is --url a statscache service\?/);
      } finally {
        endless.closeAllConnections();
        endless.close();
      }
    }, 60_000);
  });
});
