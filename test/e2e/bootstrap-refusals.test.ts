import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeOf, type StatscacheError } from '../../actors/errors.js';
import { registerPlugins, type RegisteredPlugin } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { bootstrapFromPeer } from '../../src/bootstrap.js';
import { encodeExport } from '../../src/commands/export-format.js';
import { MAX_EXPORT_VALUE_DEPTH } from '../../src/commands/value-depth.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { exportMeta } from '../helpers/export-meta.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * What `--bootstrap` refuses, in-process against a stand-in peer that serves chosen bytes:
 * a corrupted export (checksum), a wrong token, an export over the size bound, a peer that
 * is down. Each leaves the data dir without any state. The success path runs against a real
 * peer process in bootstrap.test.ts.
 */
const TOKEN = 'refusal-test-token-0123456789';
const meta: SnapshotMeta = exportMeta();
const good = encodeExport({ kind: 'statscache-snapshot', exportedAt: 0, meta, plugins: {}, journalTail: [] });

let body: Buffer = good;
/** Set: the stand-in sends the head and this many bytes of the body, then nothing more (a stalled peer). */
let stallAfter: number | null = null;
let seenAuth = '';
const server: Server = createServer((req, res) => {
  seenAuth = req.headers.authorization ?? '';
  if (seenAuth !== `Bearer ${TOKEN}`) {
    res.writeHead(401).end('{"error":"unauthorized"}');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/vnd.statscache.snapshot', 'Content-Length': body.byteLength });
  if (stallAfter === null) res.end(body);
  else res.write(body.subarray(0, stallAfter));
});
const listening = new Promise<number>((r) =>
  server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
);
const dirs: { path: string; remove(): void }[] = [];
afterAll(() => {
  server.close();
  for (const d of dirs) d.remove();
});

async function attempt(
  options: {
    token?: string;
    maxBytes?: number;
    peer?: string;
    prepare?: (dataDir: string) => unknown;
    flags?: Record<string, unknown>;
  } = {},
) {
  const dir = tempDir();
  dirs.push(dir);
  if (options.prepare) {
    mkdirSync(join(dir.path, 'data'));
    options.prepare(join(dir.path, 'data'));
  }
  const peer = options.peer ?? `http://127.0.0.1:${await listening}`;
  const config = loadConfig({
    flags: { dataDir: join(dir.path, 'data'), bootstrap: peer, ...options.flags },
    env: { STATSCACHE_ADMIN_TOKEN: options.token ?? TOKEN },
  });
  const run = bootstrapFromPeer(config, createLogger('silent'), options.maxBytes ? { maxBytes: options.maxBytes } : {});
  return { run, data: join(dir.path, 'data') };
}

/** The exit code the CLI gives the refusal: 2 (systemd does not restart) or 1 (it retries). */
const exitOf = (run: Promise<unknown>) =>
  run.then(
    () => null,
    (err: StatscacheError) => exitCodeOf(err),
  );

const noState = (data: string) => !existsSync(data) || !readdirSync(data).includes('statscache.lmdb');

describe('--bootstrap refusals', () => {
  it('accepts a good export (the stand-in is a valid peer) and sends the bearer token', async () => {
    body = good;
    const { run, data } = await attempt();
    const config = await run;
    expect(config.datagrepper).toBe(`http://127.0.0.1:${await listening}/raw`);
    expect(seenAuth).toBe(`Bearer ${TOKEN}`);
    expect(noState(data)).toBe(false);
  });

  it("bootstraps a data dir holding only statscache's hang and crash records and quarantine, and keeps them", async () => {
    // A first run the hang watch (or a poison message) ended before its first snapshot leaves these.
    body = good;
    const { run, data } = await attempt({
      prepare: (dir) => {
        const hung = JSON.stringify({
          hung: [{ seq: 3, ident: 'volume-1m', at: '2026-12-04T00:00:00Z', timeoutSeconds: 5 }],
        });
        writeFileSync(join(dir, 'hung-messages.json'), hung);
        writeFileSync(join(dir, 'hung-views.json'), '{"hung":[]}');
        writeFileSync(join(dir, 'applying.json'), '{"seq":4,"ident":"volume-1m","since":"2026-12-04T00:00:00Z"}');
        writeFileSync(join(dir, 'hung-messages.json.4242.tmp'), '{');
        mkdirSync(join(dir, 'quarantine', '2026-12-04T00-00-00-000Z'), { recursive: true });
        return hung;
      },
    });
    await run;
    expect(noState(data)).toBe(false);
    expect(readdirSync(data)).toEqual(expect.arrayContaining(['hung-messages.json', 'hung-views.json', 'quarantine']));
    expect(readFileSync(join(data, 'hung-messages.json'), 'utf8')).toContain('"seq":3');
  });

  it('still refuses a data dir holding a file statscache did not write beside those', async () => {
    body = good;
    const { run, data } = await attempt({
      prepare: (dir) => {
        writeFileSync(join(dir, 'hung-messages.json'), '{"hung":[]}');
        writeFileSync(join(dir, 'hung-messages.json.backup'), '{"hung":[]}');
      },
    });
    await expect(run).rejects.toThrow(
      /SC_CONFIG_INVALID: --bootstrap needs an empty data dir.*hung-messages\.json\.backup/,
    );
    expect(noState(data)).toBe(true);
  });

  it('refuses an export whose payload does not match its SHA-256, writing nothing', async () => {
    body = Buffer.from(good);
    body[body.length - 1] = (body[body.length - 1] as number) ^ 0xff;
    const { run, data } = await attempt();
    await expect(run).rejects.toThrow(/SC_BOOTSTRAP_FAILED: .*checksum mismatch/);
    expect(noState(data)).toBe(true);
  });

  it('refuses an export whose plugin value nests past what a plugin keeps, writing nothing', async () => {
    let deep: unknown = {};
    for (let i = 0; i < MAX_EXPORT_VALUE_DEPTH; i++) deep = [deep];
    const plugins = { 'volume-1m': { rows: [['k', { timestamp: 1, v: deep }] as [string, unknown]], stores: {} } };
    body = encodeExport({ kind: 'statscache-snapshot', exportedAt: 0, meta, plugins, journalTail: [] });
    const { run, data } = await attempt();
    await expect(run).rejects.toThrow(
      /SC_BOOTSTRAP_FAILED: .*plugin "volume-1m", store "rows", key "k": its value nests deeper than 256 levels/,
    );
    expect(noState(data)).toBe(true);
  });

  it('refuses an export over the size bound', async () => {
    body = good;
    const { run, data } = await attempt({ maxBytes: good.byteLength - 1 });
    await expect(run).rejects.toThrow(new RegExp(`SC_BOOTSTRAP_FAILED: .*${good.byteLength - 1} (bytes )?accepted`));
    // The same export is as large on the next start.
    expect(await exitOf(run)).toBe(2);
    expect(noState(data)).toBe(true);
  });

  it('refuses an export holding plugin state newer than this code, before writing anything', async () => {
    const plugin = registerPlugins(builtinPlugins())[0] as RegisteredPlugin;
    const record = { version: plugin.version + 1, rows: 0, stores: [], entries: {} };
    body = encodeExport({
      kind: 'statscache-snapshot',
      exportedAt: 0,
      meta: { ...meta, plugins: { [plugin.ident]: record, 'not-loaded-here': { ...record, version: 999 } } },
      plugins: {},
      journalTail: [],
    });
    const { run, data } = await attempt();
    await expect(run).rejects.toThrow(
      new RegExp(
        `SC_BOOTSTRAP_FAILED: .*plugin "${plugin.ident}" has state version ${plugin.version + 1} but this statscache knows version ${plugin.version}`,
      ),
    );
    await expect(run).rejects.not.toThrow(/not-loaded-here/);
    expect(noState(data)).toBe(true);
  });

  it("says so when the peer refuses this replica's token", async () => {
    const { run, data } = await attempt({ token: 'another-token-0123456789abcdef' });
    await expect(run).rejects.toThrow(/SC_BOOTSTRAP_FAILED: the peer answered 401 .*adminToken/);
    // Refused the same way on every start: exit 2, not 1 (systemd retried it every 2 s).
    expect(await exitOf(run)).toBe(2);
    expect(noState(data)).toBe(true);
  });

  it('gives up on a peer whose export stalls past --export-timeout, writing nothing', async () => {
    body = good;
    stallAfter = 16;
    try {
      const { run, data } = await attempt({ flags: { exportTimeout: 1 } });
      await expect(run).rejects.toThrow(/SC_BOOTSTRAP_FAILED: .*no complete export within 1 s \(--export-timeout\)/);
      // A peer slow this time may be quicker on the next start: exit 1, restarted.
      expect(await exitOf(run)).toBe(1);
      expect(noState(data)).toBe(true);
    } finally {
      stallAfter = null;
      server.closeAllConnections();
    }
  });

  it('gives up on a peer that began its answer and stalls once --bootstrap-idle-timeout passes without a byte, not the whole --export-timeout', async () => {
    // No byte of the body after the headers, then a part of it: each stalls for good, the export
    // timeout (600 s) far off; only the idle bound ends them. A stand-in of its own each time:
    // undici may pool the socket of an aborted body, and the next fetch took it as it closed.
    for (const after of [0, 16]) {
      const stalling: Server = createServer((_, res) => {
        res.writeHead(200, {
          'Content-Type': 'application/vnd.statscache.snapshot',
          'Content-Length': good.byteLength,
        });
        res.flushHeaders();
        if (after > 0) res.write(good.subarray(0, after));
      });
      const port = await new Promise<number>((r) =>
        stalling.listen(0, '127.0.0.1', () => r((stalling.address() as { port: number }).port)),
      );
      try {
        const { run, data } = await attempt({ peer: `http://127.0.0.1:${port}`, flags: { bootstrapIdleTimeout: 0.2 } });
        await expect(run).rejects.toThrow(
          new RegExp(
            `SC_BOOTSTRAP_FAILED: download from .* failed after ${after} bytes: no bytes from the peer for 0.2 s \\(--bootstrap-idle-timeout\\)`,
          ),
        );
        // A peer stalled this time may answer on the next start: exit 1, restarted.
        expect(await exitOf(run)).toBe(1);
        expect(noState(data)).toBe(true);
      } finally {
        stalling.closeAllConnections();
        stalling.close();
      }
    }
  });

  it("reads only the start of a refusal's body: a peer answering 503 with an endless one is refused, not read into memory", async () => {
    const sent = { bytes: 0, closed: false };
    const endless: Server = createServer((_, res) => {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      // Written only as fast as the replica reads it: what it took is what was sent.
      const more = () => {
        while (sent.bytes < 256 * 1024 * 1024 && !res.destroyed) {
          sent.bytes += chunk.byteLength;
          if (!res.write(chunk)) return;
        }
        res.end();
      };
      res.on('drain', more);
      res.on('close', () => {
        sent.closed = true;
      });
      more();
    });
    const port = await new Promise<number>((r) =>
      endless.listen(0, '127.0.0.1', () => r((endless.address() as { port: number }).port)),
    );
    try {
      const { run, data } = await attempt({ peer: `http://127.0.0.1:${port}` });
      await expect(run).rejects.toThrow(/SC_BOOTSTRAP_FAILED: the peer answered 503 to GET .*: xxxx/);
      // The whole body was read first (256 MiB here; a peer that never ends it, until the 600 s timeout).
      expect(sent.bytes).toBeLessThan(32 * 1024 * 1024);
      expect(noState(data)).toBe(true);
    } finally {
      endless.closeAllConnections();
      endless.close();
    }
  });

  it('says so when the peer is unreachable, and why', async () => {
    const { run } = await attempt({ peer: `http://127.0.0.1:${await freePort()}` });
    // The cause, not undici's bare 'fetch failed'.
    await expect(run).rejects.toThrow(
      /SC_BOOTSTRAP_FAILED: cannot reach the peer at .*: fetch failed: connect ECONNREFUSED/,
    );
    // A peer that is down may be up on the next start: exit 1, restarted.
    expect(await exitOf(run)).toBe(1);
  });
});
