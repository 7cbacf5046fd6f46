import { TrustedProxies } from './client-address.js';
import { clientNetwork } from './client-network.js';

/** What the client key is read from on a uWS response: the TCP peer's address. */
export interface PeerAddress {
  getRemoteAddressAsText(): ArrayBuffer;
}

/** What the client key is read from on a uWS request (valid only while its handler runs): its headers. */
export interface RequestHeaders {
  forEach(cb: (key: string, value: string) => void): void;
}

/** The key per-IP limits count a client under; `req` null for the TCP peer alone (the request is gone). */
export type ClientOf = (res: PeerAddress, req: RequestHeaders | null) => string;

/**
 * Every X-Forwarded-For header of the request, joined as one list (RFC 9110 §5.3): a proxy that
 * appends its own header line instead of extending the client's would otherwise have the
 * client's forged line read first. uWS caps how many headers a request has (it drops the
 * connection past about 50), and pickClient reads only the joined list's tail.
 */
function forwardedFor(req: RequestHeaders): string {
  let value = '';
  req.forEach((name, v) => {
    if (name === 'x-forwarded-for') value = value === '' ? v : `${value},${v}`;
  });
  return value;
}

/**
 * The client's address for per-IP limits and logs. Called in the upgrade and SSE handlers,
 * and for a plain request only when its answer is held (or answered later), while `req` is
 * still valid; other plain requests never need it.
 */
export function clientKeyOf(trustProxy: readonly string[], ipv6Prefix: number): ClientOf {
  const proxies = new TrustedProxies(trustProxy);
  // The key per-IP limits count the client under (its IPv6 network), and what their refusals name.
  return (res, req) =>
    clientNetwork(
      proxies.clientOf(Buffer.from(res.getRemoteAddressAsText()).toString(), () =>
        req === null ? '' : forwardedFor(req),
      ),
      ipv6Prefix,
    );
}
