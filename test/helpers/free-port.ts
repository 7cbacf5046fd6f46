import { createServer } from 'node:net';

/**
 * A port free right now. Restart tests listen on a fixed port from the start: uWS sets
 * SO_REUSEADDR only for a fixed port, and without it the first server's TIME_WAIT
 * connections would block the second listen for a minute. Private brokers take theirs too.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
