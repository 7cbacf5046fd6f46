/**
 * The one Subscriber for every `--bind` endpoint: publishers connect in, and are not told apart
 * (libzmq does not say which peer sent a message), so its messages all come from BIND_SOURCE.
 */
import { StatscacheError } from '../actors/errors.js';

/** The part of a Subscriber it is bound through. */
export interface BindingSocket {
  bind(endpoint: string): Promise<void>;
  /** The endpoint last bound, a wildcard port resolved. */
  readonly lastEndpoint: string | null;
}

/** Binds `sock` to each endpoint in turn, pushing each as actually bound onto `bound`. */
export async function bindAll(sock: BindingSocket, endpoints: readonly string[], bound: string[]): Promise<void> {
  for (const endpoint of endpoints) {
    try {
      await sock.bind(endpoint);
    } catch (err) {
      // An operator's to fix (exit 2): a supervisor restarting us would meet the same refusal.
      throw new StatscacheError(
        'SC_BUS_BIND_FAILED',
        `cannot bind the bus socket to ${endpoint}: ${(err as Error)?.message ?? String(err)}; pass another --bind or stop what holds it`,
      );
    }
    bound.push(sock.lastEndpoint ?? endpoint);
  }
}
