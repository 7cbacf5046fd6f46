import { request } from 'node:http';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { eventually, tempDir } from '../helpers/service-process.js';
import { servicePublisher } from '../helpers/service-publisher.js';

export interface Served {
  readonly service: Service;
  readonly base: string;
  readonly port: number;
  /** Publishes envelopes on a real ZeroMQ PUB socket connected to the service's bound SUB. */
  publish(envelopes: readonly RawEnvelope[]): Promise<void>;
  close(): Promise<void>;
}

/** A real Service in this process: uWS on an ephemeral port, a real ZeroMQ bind, LMDB in a temp dir. */
export async function serve(plugins?: readonly unknown[]): Promise<Served> {
  const dir = tempDir('statscache-http-');
  const config = loadConfig({
    flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
  });
  const service = await Service.build({ config, logger: createLogger('silent'), ...(plugins ? { plugins } : {}) });
  await service.start();
  const port = service.server?.port ?? 0;
  const pub = servicePublisher(service);
  return {
    service,
    port,
    base: `http://127.0.0.1:${port}`,
    publish: (envelopes) => pub.send(envelopes),
    async close() {
      pub.close();
      await service.stop();
      dir.remove();
    },
  };
}

let batches = 0;

/**
 * The samples, restamped one second apart ending a few seconds ago (so "now" covers them) and
 * given fresh msg_ids: the capture repeats some ids, and the service rightly drops duplicates.
 */
export function feed(endSeconds = Math.floor(Date.now() / 1000) - 5): RawEnvelope[] {
  const batch = ++batches;
  return recentSamples(endSeconds).map((e, i) => ({
    ...e,
    msg_id: `statscache-http-test-${process.pid}-${batch}-${i}`,
  }));
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** An HTTP request that shows the bytes as sent (fetch would decompress gzip and hide HEAD details). */
export function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of a numeric column over every row of a view, walking pages by X-Link-Count. */
export async function allRows<T>(base: string, ident: string, query = ''): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; ; page++) {
    const res = await fetch(`${base}/api/${ident}?${query}${query ? '&' : ''}page=${page}`);
    if (res.status !== 200) throw new Error(`page ${page}: ${res.status} ${await res.text()}`);
    out.push(...((await res.json()) as T[]));
    if (page >= Number(res.headers.get('x-link-count'))) return out;
  }
}

/** Publishes the samples and waits until every plugin has applied them all. */
export async function fedWithSamples(served: Served, envelopes = feed()): Promise<RawEnvelope[]> {
  await served.publish(envelopes);
  await eventually(
    async () => {
      const rows = await allRows<{ volume: number }>(served.base, 'volume-1m');
      return rows.reduce((a, r) => a + r.volume, 0) === envelopes.length ? true : undefined;
    },
    20_000,
    `all ${envelopes.length} samples applied`,
  );
  return envelopes;
}
