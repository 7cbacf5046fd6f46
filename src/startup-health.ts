import type { Config } from './config.js';
import type { LogOutputStatus } from './log-output.js';
import { error, type HttpRequest, type HttpResponse, json } from './http/responses.js';
import { listen, type RunningServer } from './http/uws-server.js';
import type { WsPeer } from './http/ws-connection.js';

/** What /readyz says while the service is being built. */
export const STARTING_REASON =
  'starting: loading plugins, checking the data file and restoring the newest snapshot (the API answers once that is done)';

/**
 * A connection per answer: the listener closes before the service's own opens on the port, and
 * a prober's kept-alive connection would go on being answered "starting" by it (uWS 20.30 has
 * no way to close the connections of a listener it stopped).
 */
const NO_STORE = { 'Cache-Control': 'no-store', Connection: 'close' };

/**
 * The answer to every request before the service is built: alive (/healthz 200, phase
 * `starting`), not ready (/readyz 503), nothing else yet (503 `starting`, to be asked again).
 * Both checks carry `degraded` while log lines are dropped (`logProblem`), as once running.
 */
export function startingAnswer(req: HttpRequest, logProblem: () => string | null = () => null): HttpResponse {
  if (req.path !== '/healthz' && req.path !== '/readyz')
    return error(503, 'starting', 'the service is starting; ask again shortly', { ...NO_STORE, 'Retry-After': '5' });
  const degraded = logProblem();
  const told = degraded === null ? {} : { degraded };
  if (req.path === '/healthz') return json(200, { status: 'ok', phase: 'starting', ...told }, NO_STORE);
  return json(503, { status: 'not_ready', reason: STARTING_REASON, ...told }, NO_STORE);
}

/**
 * Upgrades are refused before the handshake, 503 with Retry-After like every other path: a
 * load balancer (deploy/nginx.conf retries 503) then tries another replica, where an upgrade
 * accepted and closed at once (1013) reached the client as a dropped stream.
 */
const noWebSockets = {
  admit: () => ({
    status: 503 as const,
    error: 'starting' as const,
    detail: 'the service is starting; ask again shortly',
    retryAfterSeconds: 5,
  }),
  open: (peer: WsPeer) => {
    peer.end(1013, 'starting');
    return null;
  },
  message: () => {},
  close: () => {},
};

/**
 * Listens on the service's port while `serve` loads plugins, bootstraps, checks the data file
 * (a child process reading every page: minutes for a large file) and restores the newest
 * snapshot, so a liveness probe finds the process alive instead of a refused connection and
 * kills a start-up that was only slow. Closed just before the service listens on the port
 * itself. Null with `--port 0` (no probe can know a port picked at random) or when the port
 * cannot be had (the service's own listen then fails with its own clear error).
 */
export async function answerWhileStarting(
  config: Config,
  onError: (err: unknown) => void,
  logOutput?: LogOutputStatus,
): Promise<RunningServer | null> {
  if (config.port === 0) return null;
  try {
    return await listen(
      {
        host: config.host,
        port: config.port,
        maxPayloadBytes: 1024,
        idleTimeoutSeconds: 0,
        maxBackpressureBytes: 64 * 1024,
        maxHeldBytes: 1024 * 1024,
      },
      (req) => startingAnswer(req, () => logOutput?.problem() ?? null),
      noWebSockets,
      onError,
    );
  } catch {
    return null;
  }
}
