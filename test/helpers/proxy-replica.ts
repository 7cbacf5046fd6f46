import type { Publisher } from 'zeromq';
import { Subscriber } from 'zeromq';
import type { RunningProxy } from './proxy-process.js';
import { eventually } from './service-process.js';

/** Sends a `join` probe upstream; true once one reaches `sub` (other topics are skipped). */
export async function probeThroughProxy(pub: Publisher, sub: Subscriber): Promise<true | undefined> {
  await pub.send(['join', '{}']);
  try {
    for (;;) if (String((await sub.receive())[0]) === 'join') return true;
  } catch {
    return undefined;
  }
}

/**
 * A subscriber joined through the proxy (a probe sent upstream has reached it), its close put
 * on `cleanups`. A 50 ms receive timeout lets each probe round end; `options` add to it.
 */
export async function joinedReplica(
  pub: Publisher,
  backend: string,
  cleanups: (() => unknown)[],
  options: ConstructorParameters<typeof Subscriber>[0] = {},
): Promise<Subscriber> {
  const sub = new Subscriber({ receiveTimeout: 50, ...options });
  sub.connect(backend);
  sub.subscribe('');
  cleanups.push(() => sub.close());
  await eventually(() => probeThroughProxy(pub, sub), 15_000, 'joined through the proxy');
  return sub;
}

/** The proxy's JSON log lines whose `msg` starts with `msg` (its stderr, also in `logs`, is skipped). */
export const proxyLogged = (proxy: RunningProxy, msg: string): Record<string, unknown>[] =>
  proxy.logs
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => String(e['msg']).startsWith(msg));
