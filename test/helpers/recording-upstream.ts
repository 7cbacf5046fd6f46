import { XPublisher } from 'zeromq';

/**
 * An upstream publisher for `statscache proxy` under test: an XPUB bound to a free port that
 * records every message the proxy sends up to it (subscriptions, cancels and anything else), each
 * as its frames in the order they came. Closed by `cleanups`.
 */
export async function recordingUpstream(
  cleanups: (() => unknown)[],
): Promise<{ readonly endpoint: string; readonly seen: readonly Buffer[][] }> {
  const upstream = new XPublisher({ linger: 0 });
  await upstream.bind('tcp://127.0.0.1:*');
  cleanups.push(() => upstream.close());
  const seen: Buffer[][] = [];
  void (async () => {
    for (;;) seen.push(await upstream.receive());
  })().catch(() => undefined);
  return { endpoint: upstream.lastEndpoint as string, seen };
}
