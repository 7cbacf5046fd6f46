import { request } from 'node:http';
import WebSocket from 'ws';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type ConfigKey } from '../../src/config.js';
import type { LiveSubscription } from '../../examples/ws-client/statscache-client.js';
import type { ServerFrame } from '../../src/http/ws-frames.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { servicePublisher } from '../helpers/service-publisher.js';

export { eventually };

/** Messages per category per minute, with a `category` parameter served by a custom view: a parameterised live view. */
export const perCategory = definePlugin({
  name: 'Live per category',
  interval: '1m',
  summary: 'test plugin with a parameterised custom view',
  description: 'Counts per category per minute; the view filters by the `category` parameter.',
  rows: rowsOf<{ timestamp: number; category: string; n: number }>(),
  columns: ['category', 'n'],
  key: ['timestamp', 'category'],
  params: { category: { type: 'string', description: 'only this category' } },
  update(message, { rows, bucket }) {
    const previous = rows.get(rows.keyOf({ timestamp: bucket, category: message.category }));
    rows.put({ timestamp: bucket, category: message.category, n: (previous?.n ?? 0) + 1 });
  },
  view({ rows }, params) {
    return [...rows.values()].filter((r) => params.category === undefined || r.category === params.category);
  },
});

/** Fat rows (8 KB each, one row per message slot): fills a slow client's socket quickly. */
export const fat = definePlugin({
  name: 'Fat rows',
  summary: 'test plugin with large rows',
  description: 'Row i mod 50 gets the latest message and an 8 KB padding.',
  topics: ['org.test.fat'],
  rows: rowsOf<{ timestamp: number; slot: number; n: number; pad: string }>(),
  columns: ['slot', 'n', 'pad'],
  key: ['slot'],
  update(message, { rows }) {
    const body = message.body as { n: number };
    const slot = body.n % 50;
    rows.set(String(slot), { timestamp: message.timestamp, slot, n: body.n, pad: 'x'.repeat(8192) });
  },
});

export interface Live {
  readonly service: Service;
  readonly port: number;
  readonly base: string;
  readonly wsUrl: string;
  readonly dataDir: string;
  server(): NonNullable<Service['server']>;
  /** Publishes on a real ZeroMQ PUB socket and waits until the service accepted them all. */
  /** Publishes over the bus; resolves once every message is accepted and applied. */
  publish(envelopes: readonly RawEnvelope[]): Promise<void>;
  /** Stops the service (final snapshot) but keeps the data dir. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** A real Service in this process: uWS on a free port (or `port`), a real ZeroMQ bind, LMDB in a temp dir. */
export async function startLive(
  flags: Partial<Record<ConfigKey, unknown>> = {},
  opts: { dataDir?: string; plugins?: readonly unknown[]; clock?: Clock; logger?: Logger } = {},
): Promise<Live> {
  const dir = opts.dataDir ? { path: opts.dataDir, remove: () => {} } : tempDir('statscache-ws-');
  const config = loadConfig({
    env: {},
    flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600, wsTickMs: 20, ...flags },
  });
  const service = await Service.build({
    config,
    logger: opts.logger ?? createLogger('silent'),
    plugins: opts.plugins ?? [...builtinPlugins(), perCategory, fat],
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await service.start();
  const port = service.server?.port ?? 0;
  const pub = servicePublisher(service);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    pub.close();
    await service.stop();
  };
  return {
    service,
    port,
    base: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    dataDir: dir.path,
    server: () => {
      if (!service.server) throw new Error('not listening');
      return service.server;
    },
    async publish(envelopes) {
      await pub.join();
      const target = service.counters.accepted + envelopes.length;
      await pub.send(envelopes);
      // A counter in this process: polled every 2 ms (tests publish hundreds of batches one by one).
      await eventually(
        () => (service.counters.accepted >= target ? true : undefined),
        15_000,
        `${envelopes.length} messages accepted`,
        2,
      );
      // Plugins apply after the journal commit: resolve once they have.
      await service.settled();
    },
    stop,
    async close() {
      await stop();
      dir.remove();
    },
  };
}

let batch = 0;

/** The real samples, restamped one second apart ending `endSeconds`, with ids unique to this batch. */
export function samplesBatch(endSeconds = Math.floor(Date.now() / 1000) - 2): RawEnvelope[] {
  const b = ++batch;
  return recentSamples(endSeconds).map((e, i) => ({ ...e, msg_id: `ws-test-${process.pid}-${b}-${i}` }));
}

/** `count` synthetic messages for the fat plugin. */
export function fatBatch(count: number, from = 0): RawEnvelope[] {
  const b = ++batch;
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => ({
    topic: 'org.test.fat',
    msg_id: `fat-${process.pid}-${b}-${i}`,
    timestamp: now,
    msg: { n: from + i },
  }));
}

export type Frame = ServerFrame & Record<string, unknown>;

/** A raw `ws` connection that records every frame, for protocol-level assertions. */
export class RawClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  of<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type) as Extract<Frame, { type: T }>[];
  }

  /** The first frame after index `from` matching `pred`. */
  next(pred: (f: Frame) => boolean, what: string, from = 0, ms = 5_000): Promise<Frame> {
    return eventually(() => this.frames.slice(from).find(pred), ms, what, 2);
  }

  close(): void {
    this.ws.close();
  }
}

/** Every row of a view over HTTP (walking pages), as a Map by the plugin's key columns. */
export async function httpRows(base: string, ident: string, query = ''): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${base}/api/${ident}${query ? `?${query}` : ''}`);
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>[];
}

/** Status and body of an SSE request: the body only when it is refused (a stream that opens is closed at once: it never ends). */
export function sseAnswer(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode === 200) {
        req.destroy();
        return resolve({ status: 200, body: '' });
      }
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Rows as a canonical string, whatever their order: equal for the same set of rows. */
export const canon = (rows: Iterable<Record<string, unknown>>): string =>
  JSON.stringify([...rows].map((r) => JSON.stringify(r)).sort());

/** Polls until the example client's subscription holds exactly what GET /api/<ident>?<query> answers. */
export async function matchesHttp(live: Live, sub: LiveSubscription, query = ''): Promise<void> {
  await eventually(
    async () =>
      sub.rows.size > 0 && canon(sub.rows.values()) === canon(await httpRows(live.base, sub.ident, query))
        ? true
        : undefined,
    10_000,
    `${sub.ident}?${query} (subscription ${sub.id}) to equal the HTTP view`,
  );
}

export const keyOf = (cols: readonly string[], row: Record<string, unknown>) =>
  JSON.stringify(cols.map((c) => row[c] ?? null));

export { freePort } from '../helpers/free-port.js';
