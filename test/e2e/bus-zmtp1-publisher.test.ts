import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

/**
 * A publisher still on libzmq 2.x speaks ZMTP 1.0, which has no security handshake: while
 * --max-publishers bounds the --bind socket (through ZAP), libzmq refuses it. `--max-publishers 0`
 * turns the bound off for such a fleet. The publisher here is a raw TCP socket writing ZMTP 1.0
 * bytes, as libzmq 2.x does: its greeting is an empty identity frame, then each message part is
 * [length of flags + body][flags: 1 = more][body].
 */
function zmtp1Frame(body: Buffer, more: boolean): Buffer {
  if (body.length + 1 >= 255) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([body.length + 1, more ? 1 : 0]), body]);
}

let sent = 0;
function publish(sock: Socket, category: string): void {
  const topic = `org.fedoraproject.prod.${category}.x`;
  sent++;
  const body = JSON.stringify({ topic, timestamp: Date.now() / 1000, msg_id: `2026-zmtp1-${sent}`, msg: {} });
  sock.write(Buffer.concat([zmtp1Frame(Buffer.from(topic), true), zmtp1Frame(Buffer.from(body), false)]));
}

function zmtp1Publisher(endpoint: string): Promise<Socket> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname, () => {
      sock.write(zmtp1Frame(Buffer.alloc(0), false));
      resolve(sock);
    });
    sock.on('error', reject);
  });
}

async function volume(s: RunningService, category: string): Promise<number> {
  const rows = (await getJson(`${s.base}/api/volume-by-category-1d?rows_per_page=100`)).body as {
    category: string;
    volume: number;
  }[];
  return rows.find((r) => r.category === category)?.volume ?? 0;
}

describe('a ZMTP 1.0 (libzmq 2.x) publisher on the --bind socket', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  const services: RunningService[] = [];
  const socks: Socket[] = [];
  afterAll(async () => {
    for (const s of socks) s.destroy();
    for (const s of services) await s.stop('SIGKILL');
    for (const d of dirs) d.remove();
  });

  async function run(extra: string[]): Promise<{ s: RunningService; pub: Socket }> {
    const dir = tempDir('statscache-zmtp1-');
    dirs.push(dir);
    const s = await startService(['--data-dir', dir.path, ...extra]);
    services.push(s);
    await waitReady(s);
    const pub = await zmtp1Publisher(s.bound);
    socks.push(pub);
    return { s, pub };
  }

  it('is applied with --max-publishers 0, and refused (its connection closed) under the bound', async () => {
    const off = await run(['--max-publishers', '0']);
    // Sends until applied: the first messages may come before the subscription is in place.
    await eventually(
      async () => {
        publish(off.pub, 'zmtpone');
        return (await volume(off.s, 'zmtpone')) > 0 ? true : undefined;
      },
      30_000,
      'the ZMTP 1.0 publisher applied with the bound off',
    );

    const on = await run([]);
    const closed = new Promise<void>((resolve) => on.pub.once('close', () => resolve()));
    on.pub.on('error', () => undefined);
    for (let k = 0; k < 5; k++) if (!on.pub.destroyed) publish(on.pub, 'zmtpone');
    await closed;
    // The same bytes were applied with the bound off (above): here none was.
    expect(await volume(on.s, 'zmtpone')).toBe(0);
    expect(on.s.child.exitCode).toBeNull();
  }, 120_000);
});
