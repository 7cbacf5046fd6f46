/**
 * The service the held-answer tests share: in process, a manual clock, real uWS and LMDB, large
 * messages making a /raw page of several MB, and the counters they judge by.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../../src/clock.js';
import { type ConfigKey, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from '../helpers/service-process.js';

setFlagsFromString('--expose-gc');
export const gc = runInNewContext('gc') as () => void;

const START_MS = 1_900_000_000_000;

export interface HeldService {
  readonly service: Service;
  readonly port: number;
  readonly base: string;
  /** A metric's unlabelled value from /metrics. */
  metric(name: string): Promise<number>;
  /** Held answers so far plus connections closed unread: each request ends as one or the other. */
  answered(): Promise<number>;
  /** Journals `messages` messages of 800 KB (under the 1 MiB frame cap); the size of the /raw page of them all. */
  bigPage(messages: number): Promise<number>;
  /**
   * Opens `count` connections from `localAddress`, each asking for the /raw page and reading
   * nothing, so each answer stays on the server until it is held or the connection closed;
   * resolves with them once every request has ended one way or the other.
   */
  unreadRequests(count: number, localAddress: string): Promise<Socket[]>;
  close(): Promise<void>;
}

export async function heldService(prefix: string, flags: Partial<Record<ConfigKey, unknown>>): Promise<HeldService> {
  const dir = tempDir(prefix);
  const config = loadConfig({
    flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600, ...flags },
  });
  const service = await Service.build({ config, logger: createLogger('silent'), clock: new ManualClock(START_MS) });
  await service.start();
  const port = service.server?.port ?? 0;
  const base = `http://127.0.0.1:${port}`;
  const metric = async (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
  const answered = async () =>
    (await metric('statscache_http_held_answers_total')) + (await metric('statscache_http_unread_closes_total'));
  return {
    service,
    port,
    base,
    metric,
    answered,
    async bigPage(messages) {
      for (let n = 0; n < messages; n++)
        service.accept({
          topic: 'org.fedoraproject.prod.a.b',
          timestamp: START_MS / 1000 - 100 + n,
          msg_id: `big-${n}`,
          msg: { pad: 'y'.repeat(800_000) },
        });
      await service.settled();
      return (await (await fetch(`${base}/raw?rows_per_page=100`)).arrayBuffer()).byteLength;
    },
    async unreadRequests(count, localAddress) {
      const counted = await answered();
      const sockets: Socket[] = [];
      for (let i = 0; i < count; i++) {
        const s = connect({ port, host: '127.0.0.1', localAddress });
        s.on('error', () => {});
        s.pause();
        // A new string per request: nothing in the service memoises /raw anyway.
        s.write(`GET /raw?rows_per_page=100&n=${i} HTTP/1.1\r\nHost: test\r\n\r\n`);
        sockets.push(s);
      }
      await eventually(
        async () => ((await answered()) >= counted + count ? true : undefined),
        20_000,
        `every request from ${localAddress} held or closed`,
      );
      return sockets;
    },
    async close() {
      await service.stop();
      dir.remove();
    },
  };
}
