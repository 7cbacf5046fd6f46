import { StatscacheError } from '../../actors/errors.js';
import type { Logger } from '../logger.js';

export interface ProxyOptions {
  readonly frontend?: unknown;
  readonly backend?: unknown;
}

/** A ZeroMQ tcp/ipc/inproc endpoint; anything else is refused before libzmq sees it. */
const ENDPOINT = /^(tcp|ipc|inproc):\/\/\S{1,255}$/;

function endpoint(value: unknown, flag: string): string {
  if (typeof value !== 'string' || !ENDPOINT.test(value))
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `${flag} must be a ZeroMQ endpoint like tcp://host:port, got ${JSON.stringify(value) ?? typeof value}`,
    );
  return value;
}

/**
 * `statscache proxy`: one upstream fedmsg connection fanned out to any number of replicas
 * through zmq_proxy (see src/bus.ts). Runs until SIGTERM/SIGINT.
 */
export async function runProxyCommand(opts: ProxyOptions, log: Logger): Promise<void> {
  const frontend = endpoint(opts.frontend, '--frontend');
  const backend = endpoint(opts.backend, '--backend');
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
