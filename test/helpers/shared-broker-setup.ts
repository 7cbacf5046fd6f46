/**
 * vitest globalSetup (the spawned project): one private RabbitMQ for the test files that need no
 * broker of their own (test/helpers/shared-broker.ts), instead of one per file. A broker start
 * costs ~6-7 s of CPU (the Erlang VM's boot), paid by each of six files before.
 *
 * Started lazily, on a file's first request over a loopback HTTP endpoint whose address is
 * provided to the workers: a run without such files starts none. Each request gets a virtual
 * host of its own (defined at boot, so no rabbitmqctl call), so one file's queues, bindings and
 * wildcard patterns never see another's messages. The broker is killed at teardown.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startBroker, type TestBroker } from './rabbitmq.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port>: GET /vhost answers {url} of a fresh virtual host on the shared broker. */
    sharedBroker: string;
  }
}

/** More than the files that use it; a request past them starts a broker of its own. */
const VHOSTS = Array.from({ length: 12 }, (_, i) => `file-${i + 1}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let broker: Promise<TestBroker> | undefined;
  let next = 0;
  const server = createServer((req, res) => {
    const answer = async () => {
      if (req.url !== '/vhost') return { status: 404, body: { error: 'not found' } };
      if (next >= VHOSTS.length) return { status: 409, body: { error: 'no virtual host left' } };
      const vhost = VHOSTS[next++] as string;
      broker ??= startBroker({ forcePrivate: true, vhosts: VHOSTS });
      const url = (await broker).url.replace(/\/$/, `/${vhost}`);
      return { status: 200, body: { url } };
    };
    answer().then(
      ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: Error) =>
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('sharedBroker', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return async () => {
    server.close();
    // A start still under way is awaited, so its broker is killed rather than left behind.
    const started = await broker?.catch(() => undefined);
    await started?.stop();
  };
}
