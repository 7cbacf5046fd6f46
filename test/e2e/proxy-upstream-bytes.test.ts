import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { rssAnonMiB } from '../helpers/probes.js';
import { startProxy } from '../helpers/proxy-process.js';
import { joinedReplica, proxyLogged } from '../helpers/proxy-replica.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * `statscache proxy` queued up to 100,000 messages from upstream whatever their size: while its
 * main thread was busy, libzmq's I/O thread read on into that queue (a flood of 900 KB messages
 * with the main thread blocked 400 ms in every 450 grew it by 600+ MiB). The queue is now cut
 * to the largest messages that fit --upstream-queue-max-bytes; past it TCP pushes back and the
 * publisher holds the rest.
 */
const FRAME_CAP = 256 * 1024;
/** The least accepted: one message of two frames at 4× the cap queued, one being read. */
const UPSTREAM_BYTES = 16 * FRAME_CAP;
const BODY = 200 * 1024;
const FLOOD = 1000; // 195 MiB
/** Growth allowed over the bound: libzmq's engines and what V8 has not collected. */
const SLACK_MIB = 40;
const STALL = fileURLToPath(new URL('../helpers/stall-main-thread.mjs', import.meta.url));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The process's anonymous memory once it has held still for three samples in a row. */
async function steadyRss(pid: number): Promise<number> {
  const samples: number[] = [];
  return eventually(
    async () => {
      await new Promise((r) => setTimeout(r, 150));
      samples.push(rssAnonMiB(pid));
      const last = samples.slice(-3);
      return last.length === 3 && Math.max(...last) - Math.min(...last) < 1 ? Math.max(...samples) : undefined;
    },
    20_000,
    'the proxy memory steady',
  );
}

describe('statscache proxy bounds its queue from upstream in bytes (--upstream-queue-max-bytes)', () => {
  it('with its main thread stalled it takes in at most the bound from upstream; once it resumes nothing is lost', async () => {
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    await pub.bind('tcp://127.0.0.1:*');
    cleanups.push(() => pub.close());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const release = join(dir.path, 'release');
    const proxy = await startProxy(
      pub.lastEndpoint as string,
      'tcp://127.0.0.1:*',
      ['--max-frame-bytes', String(FRAME_CAP), '--upstream-queue-max-bytes', String(UPSTREAM_BYTES)],
      { execArgv: ['--import', STALL], env: { STALL_RELEASE_FILE: release } },
    );
    cleanups.push(() => proxy.stop('SIGKILL'));
    const sub = await joinedReplica(pub, proxy.backend, cleanups, { linger: 0 });

    const pid = proxy.child.pid as number;
    const before = rssAnonMiB(pid);
    proxy.child.kill('SIGUSR2');
    await eventually(() => (proxy.logs.some((l) => l.includes('stalled')) ? true : undefined), 10_000, 'stalled');
    const body = Buffer.alloc(BODY, 'x');
    for (let i = 0; i < FLOOD; i++) await pub.send(['flood', body]);
    const peak = await steadyRss(pid);
    writeFileSync(release, '');

    // Once the proxy reads again, the publisher's backlog comes through: every message.
    sub.receiveTimeout = 20_000;
    for (let got = 0; got < FLOOD; ) if (String((await sub.receive())[0]) === 'flood') got++;
    // Unbounded (100,000 messages): the whole flood taken in while stalled.
    expect(peak - before).toBeLessThan(UPSTREAM_BYTES / 2 ** 20 + SLACK_MIB);
    expect(proxyLogged(proxy, 'statscache proxy running')[0]).toMatchObject({ upstreamQueueMaxBytes: UPSTREAM_BYTES });
  }, 60_000);

  it('refuses a bound under one message and the one being read at the hard cap, naming the flag', async () => {
    const err = await startProxy('tcp://127.0.0.1:1', 'tcp://127.0.0.1:*', [
      '--max-frame-bytes',
      String(FRAME_CAP),
      '--upstream-queue-max-bytes',
      String(UPSTREAM_BYTES - 1),
    ]).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/proxy exited with 2/);
    expect(err?.message).toMatch(/--upstream-queue-max-bytes must be at least 4194304/);
  });
});
