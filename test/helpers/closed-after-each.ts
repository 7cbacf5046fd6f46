/**
 * The HTTP servers a test file starts (fake histories), each closed after every test with its
 * keep-alive connections cut, so one test's history never answers the next test's requests.
 */
import type { Server } from 'node:http';
import { afterEach } from 'vitest';

export function serversClosedAfterEach(): Server[] {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  return servers;
}
