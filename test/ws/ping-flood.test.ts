import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startLive, type Live } from './harness.js';

const SOFT = 16 * 1024;
/** The hard limit (4× --ws-max-buffered-bytes, uWS's maxBackpressure) plus the one pong that may pass it. */
const HARD = 4 * SOFT + 2 + 125;
/**
 * Offered at most: far past what the kernel's socket buffers and the hard limit hold together.
 * uWS does not always close the socket itself at the hard limit on its own pongs; then the slow
 * timeout does (--ws-slow-timeout-seconds, and a terminate one more timeout later when nothing
 * drains), and a loaded loopback took up to 229 MB of pings in those ~2 s: 256 MB failed 1 run
 * in 6 under load. The bound stays one that a flood never closed would reach.
 */
const OFFERED = 2 * 1024 * 1024 * 1024;

describe('a WebSocket client that floods pings (control frames) and never reads the pongs', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive({ wsMaxBufferedBytes: SOFT, wsSlowTimeoutSeconds: 1 });
  });
  afterAll(() => live?.close());

  it('queues at most the hard limit of pongs and is closed, while another client is served', async () => {
    // uWS answers a ping itself, below the frame-rate limit (which counts messages, not control
    // frames): each pong is queued for a client that reads nothing, as an update would be.
    const sock = connect(live.port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    const key = randomBytes(16).toString('base64');
    sock.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await new Promise<Buffer>((resolve) => sock.once('data', resolve));
    expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    sock.pause();
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => (closed = true));
    // A masked ping of 125 bytes (the most a control frame carries), a thousand to a write.
    const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 1, 2, 3, 4]), Buffer.alloc(125, 0x61)]);
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    let offered = 0;
    while (!closed && offered < OFFERED) {
      offered += pings.byteLength;
      if (!sock.write(pings)) await new Promise((resolve) => sock.once('drain', resolve).once('close', resolve));
    }
    expect(closed).toBe(true);
    expect(offered).toBeLessThan(OFFERED);
    const { stats } = live.service.hub;
    // Taken for a slow client at the soft limit, and closed at the hard one (uWS's
    // closeOnBackpressureLimit) or by the slow timeout; never queued past the hard limit.
    expect(stats.slowEntered).toBeGreaterThanOrEqual(1);
    expect(stats.peakBufferedBytes).toBeGreaterThan(SOFT);
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(HARD);
    const other = await RawClient.open(live.wsUrl);
    other.send({ op: 'ping', id: 7 });
    expect(await other.next((f) => f.type === 'pong', 'a pong for the other client')).toMatchObject({ id: 7 });
    other.close();
  }, 60_000);
});
