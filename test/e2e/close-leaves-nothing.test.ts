import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

const CHILD = fileURLToPath(new URL('../helpers/closed-service.mjs', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../fixtures/fedmsg/samples.jsonl', import.meta.url));

/**
 * An embedder's process ends on its own once close() or stop() returns: nothing the service started (bus
 * thread, hang watch, timers, the HTTP listener and the WebSocket and SSE connections still
 * open on it, the journal's retries) holds the event loop. Real service of the dist build in a
 * child process, real clients connected from here.
 */
/** An open WebSocket on /ws; settles with 'closed' once the server ends it. */
function openWs(port: number): Promise<{ ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.once('open', () => resolve({ ended: new Promise((r) => ws.once('close', () => r('closed'))) }));
    ws.once('error', reject);
  });
}

/** An open SSE stream (200); settles with 'closed' once the server ends it. */
function openSse(port: number): Promise<{ ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`http://127.0.0.1:${port}/api/volume-1m/stream`, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
      res.resume();
      resolve({ ended: new Promise((r) => res.once('close', () => r('closed'))) });
    });
    req.once('error', reject);
    req.end();
  });
}

describe.each(['close', 'stop'])('%s()', (how) => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('leaves nothing running: open WebSocket and SSE clients are cut, and the process exits by itself', async () => {
    const child = spawn(process.execPath, [CHILD, dir.path, SAMPLES, how], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const out = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await out.next()).value as string) as Record<string, unknown>;
    try {
      const { port } = (await next()) as { port: number };
      const [ws, stream] = await Promise.all([openWs(port), openSse(port)]);
      const cut = Promise.all([ws.ended, stream.ended]);
      child.stdin.write('close\n');
      const closed = await next();
      expect(closed.closed).toBe(true);
      expect(closed.fatal).toEqual([]);
      // On its own: nothing calls process.exit, so any handle left would hold it past the test's bound.
      expect(await exited).toBe(0);
      expect(await cut).toEqual(['closed', 'closed']);
      // close() leaves nothing but the child's own pipes. After stop() lmdb-js's 0 ms timer that
      // resets the read transaction of the final snapshot's last read may still be queued (it
      // fires at once; the exit above is what shows nothing holds the process).
      if (how === 'close')
        expect((closed.active as string[]).filter((r) => !/TTYWrap|PipeWrap|FSReqCallback/.test(r))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 15_000);
});

describe('close() with journal records held in memory (the disk refuses writes)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('leaves no retry running, the process exits by itself, and the data dir opens again', async () => {
    const child = spawn(process.execPath, [CHILD, dir.path, SAMPLES, 'close'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const out = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await out.next()).value as string) as Record<string, unknown>;
    try {
      await next();
      // No growth past the data file as it is now: LMDB's commits fail with EFBIG, as on a full disk.
      const size = statSync(join(dir.path, 'statscache.lmdb')).size;
      execFileSync('prlimit', ['--pid', String(child.pid), `--fsize=${size}:unlimited`]);
      child.stdin.write('full\n');
      const closed = await next();
      expect(closed.held).toBeGreaterThan(0);
      expect(closed.fatal).toEqual([]);
      expect(await exited).toBe(0);
      expect((closed.active as string[]).filter((r) => !/TTYWrap|PipeWrap|FSReqCallback/.test(r))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
    const config = loadConfig({ flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
    const again = await Service.build({ config, logger: createLogger('silent') });
    try {
      expect(again.restored.meta?.generation).toBe(1);
    } finally {
      await again.close();
    }
  }, 15_000);
});
