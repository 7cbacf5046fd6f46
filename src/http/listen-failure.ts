import { createServer } from 'node:net';
import { StatscacheError } from '../../actors/errors.js';

/**
 * uWS only says "false" when listening fails. Node's own listen on the same address tells
 * why (in use, not permitted, no such address), so the error names the cause.
 */
export function whyNotListening(
  host: string,
  port: number,
  flags: { readonly host: string; readonly port: string } = { host: '--host', port: '--port' },
): Promise<StatscacheError> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        resolve(
          new StatscacheError(
            'SC_PORT_IN_USE',
            `port ${port} on ${host} is already in use (another statscache, or another program): stop it or pass another ${flags.port}`,
          ),
        );
      else
        resolve(
          new StatscacheError(
            'SC_LISTEN_FAILED',
            `cannot listen on ${host}:${port}: ${err.code ?? err.message}${err.code === 'EACCES' ? ' (ports below 1024 need privileges)' : ''}; pass another ${flags.host} or ${flags.port}`,
          ),
        );
    });
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close();
      resolve(
        new StatscacheError(
          'SC_LISTEN_FAILED',
          `cannot listen on ${host}:${port} (uWebSockets.js refused it, for no reason the system reports)`,
        ),
      );
    });
  });
}
