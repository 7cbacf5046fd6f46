import { connect } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createHttpHandler } from '../../src/http/api-routes.js';
import type { HttpRequest, HttpResponse } from '../../src/http/responses.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

export interface Exchanged {
  /** The status line as sent, e.g. `HTTP/1.1 200 OK`; empty when the server closed without answering. */
  readonly status: string;
  /** Every header line in order, as (name, value). */
  readonly headers: [string, string][];
  readonly body: Buffer;
}

/** One raw HTTP/1.1 exchange over its own connection: the exact bytes the server wrote, split into head and body. */
export function exchange(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Exchanged> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      const [status = '', ...rest] = raw.subarray(0, end).toString('latin1').split('\r\n');
      resolve({
        status,
        headers: rest.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
        body: raw.subarray(end + 4),
      });
    });
  });
}

export interface WireService {
  readonly clock: ManualClock;
  readonly service: Service;
  readonly port: number;
  /** What a handler of its own (no memo, no cache, no hot answers) renders for the request now. */
  rendered(path: string, query: string, headers?: Record<string, string>, method?: string): HttpResponse;
}

/**
 * A real Service in this process on a ManualClock starting at `startMs`, fed `envelopes` (given
 * the start in seconds) before the tests of the enclosing describe run, stopped after them.
 */
export function serviceOnManualClock(startMs: number, envelopes: (startSeconds: number) => Envelope[]): WireService {
  const clock = new ManualClock(startMs);
  const dir = tempDir('statscache-wire-');
  let service: Service | undefined;
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = await Service.build({ config, logger: createLogger('silent'), clock });
    await service.start();
    for (const e of envelopes(startMs / 1000)) service.accept(e);
    await service.settled();
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });
  const started = (): Service => {
    if (service === undefined) throw new Error('the service starts in beforeAll');
    return service;
  };
  return {
    clock,
    get service() {
      return started();
    },
    get port() {
      return started().server?.port ?? 0;
    },
    rendered: (path, query, headers = {}, method = 'GET') =>
      createHttpHandler({
        host: started().host,
        nowSeconds: () => clock.now() / 1000,
        notReadyReason: () => null,
        health: () => ({}),
      })({ method, path, query, header: (n) => headers[n] ?? '' } satisfies HttpRequest),
  };
}

/** `count` messages over `categories` categories, one every `everySeconds` back from `now`: a view with rows in many buckets. */
export const spreadMessages =
  (count: number, categories: number, everySeconds: number, idPrefix: string) =>
  (now: number): Envelope[] =>
    Array.from({ length: count }, (_, i) => ({
      topic: `org.fedoraproject.prod.cat${i % categories}.thing`,
      timestamp: now - everySeconds * i,
      msg_id: `${idPrefix}${i}`,
      msg: {},
    }));
