import { StatscacheError } from '../../actors/errors.js';
import type { Logger } from '../logger.js';
import { type EndpointRole, endpointProblem } from '../zmq-endpoint.js';

export interface ProxyOptions {
  readonly frontend?: unknown;
  readonly backend?: unknown;
}

/** A ZeroMQ tcp/ipc/inproc endpoint (zmq-endpoint.ts); anything else is refused before libzmq sees it. */
function endpoint(value: unknown, flag: string, role: EndpointRole): string {
  const problem = typeof value === 'string' ? endpointProblem(value, role) : 'must be a ZeroMQ endpoint';
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value) ?? typeof value}`);
  return value as string;
}

/**
 * `statscache proxy`: one upstream fedmsg connection fanned out to any number of replicas
 * through zmq_proxy (see src/bus.ts). Runs until SIGTERM/SIGINT.
 */
export async function runProxyCommand(opts: ProxyOptions, log: Logger): Promise<void> {
  const frontend = endpoint(opts.frontend, '--frontend', 'connect');
  const backend = endpoint(opts.backend, '--backend', 'bind');
  // Loaded here so the other operator commands do not load ZeroMQ.
  const { startProxy } = await import('../bus.js');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  try {
    proxy = await startProxy({ frontend, backend });
  } catch (err) {
    throw new StatscacheError(
      'SC_LISTEN_FAILED',
      `cannot bind the proxy backend ${backend} or connect ${frontend}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  log.info({ frontend, backend: proxy.backend }, 'statscache proxy running');
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping proxy');
    proxy.close();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await proxy.done;
}
