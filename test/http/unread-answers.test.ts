import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricOf, joinedPublisher } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';

const HELD = 'statscache_http_held_answers_total';
const CLOSES = 'statscache_http_unread_closes_total';

/** A raw connection that reads nothing until `socket.resume()`, and everything it received once closed. */
function unreadConnection(port: number, request: string): { socket: Socket; closed: Promise<Buffer> } {
  const socket = connect(port, '127.0.0.1');
  // Paused before any 'data' listener, so adding one does not start reading.
  socket.pause();
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  // A reset is one way the server may close it: what counts is that it ends.
  socket.on('error', () => {});
  const closed = new Promise<Buffer>((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
  socket.write(request);
  return { socket, closed };
}

describe('HTTP clients that do not read their answers', () => {
  const dir = tempDir();
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600']);
  }, 60_000);
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('a connection that pipelines thousands of GETs and reads nothing is closed; everyone else is answered', async () => {
    const held = await metricOf(svc.base, HELD);
    const closes = await metricOf(svc.base, CLOSES);
    // 2,000 × ~95 KB of OpenAPI answers for 80 KB of requests: the old server buffered all of it.
    const asked = 2000;
    const greedy = unreadConnection(svc.port, 'GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(asked));

    const normal = await fetch(`${svc.base}/openapi.json`);
    expect(normal.status).toBe(200);
    expect(JSON.parse(await normal.text())).toHaveProperty('openapi');

    await eventually(
      async () => ((await metricOf(svc.base, CLOSES)) === closes + 1 ? true : undefined),
      20_000,
      'the connection that reads nothing to be closed',
    );
    expect(await metricOf(svc.base, HELD)).toBeGreaterThan(held);
    // Closed, not merely stalled: reading now reaches its end, well before the answers asked for.
    greedy.socket.resume();
    const received = (await greedy.closed).toString('latin1');
    expect(received.split('HTTP/1.1 200 OK\r\n').length - 1).toBeLessThan(asked);

    expect(svc.child.exitCode).toBeNull();
    expect((await getJson(`${svc.base}/healthz`)).status).toBe(200);
    const again = await fetch(`${svc.base}/openapi.json`);
    expect(again.status).toBe(200);
    expect(JSON.parse(await again.text())).toHaveProperty('openapi');
  });

  it('a connection that pipelines thousands of HEADs or conditional GETs and reads nothing is closed', async () => {
    const closes = await metricOf(svc.base, CLOSES);
    const first = await fetch(`${svc.base}/openapi.json`);
    const etag = first.headers.get('etag') ?? '';
    await first.text();
    expect(etag).not.toBe('');
    // Bodiless answers (~350 bytes of headers each) for ~40 bytes of request: 20,000 of them
    // were ~7 MB queued in uWS for a client that reads nothing, and a client that kept sending
    // grew the server without bound (RSS +113 MB in 8 s from one connection).
    const asked = 20_000;
    const heads = unreadConnection(svc.port, 'HEAD /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(asked));
    const conditionals = unreadConnection(
      svc.port,
      `GET /openapi.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`.repeat(asked),
    );

    await eventually(
      async () => ((await metricOf(svc.base, CLOSES)) >= closes + 2 ? true : undefined),
      20_000,
      'both connections that read nothing to be closed',
    );
    for (const greedy of [heads, conditionals]) {
      greedy.socket.resume();
      const received = (await greedy.closed).toString('latin1');
      expect(received.split('HTTP/1.1 ').length - 1).toBeLessThan(asked);
    }

    // Clients that wait for each answer keep their connection for the next request.
    const sequential = unreadConnection(svc.port, '');
    sequential.socket.resume();
    let received = '';
    sequential.socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    const answers = () => received.split('HTTP/1.1 ').length - 1;
    const requests = [
      'HEAD /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /openapi.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`,
      'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
      'OPTIONS /api/volume-1s HTTP/1.1\r\nHost: x\r\n\r\n',
      'HEAD /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ];
    for (const [i, request] of requests.entries()) {
      sequential.socket.write(request);
      await eventually(async () => (answers() > i ? true : undefined), 10_000, `answer ${i + 1}`);
    }
    await sequential.closed;
    expect(received.match(/HTTP\/1\.1 \d+/g)).toEqual([
      'HTTP/1.1 200',
      'HTTP/1.1 304',
      'HTTP/1.1 200',
      'HTTP/1.1 204',
      'HTTP/1.1 200',
    ]);
    expect(await metricOf(svc.base, CLOSES)).toBe(closes + 2);
    expect(svc.child.exitCode).toBeNull();
  });

  it('an answer larger than the socket buffers reaches, complete, a client that starts reading late', async () => {
    const pub = await joinedPublisher(svc);
    try {
      // 24 messages of ~900 KB: their /raw page (~22 MB) is more than the kernel holds for a
      // connection on both ends, so the server has to keep the rest until the client reads.
      const count = 24;
      const blob = 'x'.repeat(900_000);
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < count; i++)
        await pub.send(
          'org.fedoraproject.prod.wiki.article.edit',
          JSON.stringify({
            topic: 'org.fedoraproject.prod.wiki.article.edit',
            timestamp: now - 30 + i,
            msg_id: `2026-slow-reader-${process.pid}-${i}`,
            msg: { user: 'slow', title: `page ${i}`, blob },
          }),
        );
      await eventually(
        async () =>
          ((await getJson(`${svc.base}/raw?rows_per_page=1&user=slow`)).body as { total?: number }).total === count
            ? true
            : undefined,
        20_000,
        'the large messages in the journal',
      );
      const held = await metricOf(svc.base, HELD);
      const closes = await metricOf(svc.base, CLOSES);
      const late = unreadConnection(
        svc.port,
        `GET /raw?user=slow&rows_per_page=${count} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      // It reads nothing until the server has had to hold part of the answer for it.
      await eventually(
        async () => ((await metricOf(svc.base, HELD)) > held ? true : undefined),
        20_000,
        'the answer to wait for the client',
      );
      late.socket.resume();
      const received = await late.closed;
      const end = received.indexOf('\r\n\r\n');
      const head = received.subarray(0, end).toString('latin1');
      const body = received.subarray(end + 4);
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1])).toBe(body.length);
      const page = JSON.parse(body.toString('utf8')) as { raw_messages: { msg: { blob: string } }[] };
      expect(page.raw_messages.length).toBe(count);
      for (const m of page.raw_messages) expect(m.msg.blob).toBe(blob);
      expect(await metricOf(svc.base, CLOSES)).toBe(closes);
    } finally {
      pub.close();
    }
  });
});
