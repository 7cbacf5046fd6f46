/**
 * The client's address behind reverse proxies (`--trust-proxy`). Per-IP limits and log fields
 * key on it: keyed on the TCP peer, everyone behind nginx is one client and shares one allowance.
 * Only a peer the operator trusts may name the client in X-Forwarded-For; anyone else could
 * write any address there and so dodge the per-IP caps.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';

/** X-Forwarded-For comes from outside: only its tail is read, and only so many hops of it. */
export const MAX_FORWARDED_CHARS = 1024;
export const MAX_FORWARDED_HOPS = 16;

interface ProxyRange {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Null: a single address. */
  readonly prefix: number | null;
}

/** Zone ids (`fe80::1%eth0`) are refused: they name an interface of the sender's, not a client. */
function familyOf(address: string): 'ipv4' | 'ipv6' | null {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 && !address.includes('%') ? 'ipv6' : null;
}

/** `10.0.0.1`, `::1`, `10.0.0.0/8` or `fd00::/8`; null for anything else. */
function parseRange(value: string): ProxyRange | null {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = familyOf(address);
  if (family === null) return null;
  if (slash < 0) return { address, family, prefix: null };
  const bits = value.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  return prefix >= 0 && prefix <= (family === 'ipv4' ? 32 : 128) ? { address, family, prefix } : null;
}

/** Whether a `--trust-proxy` value is an address or CIDR range (settings.ts checks each at start-up). */
export const isProxyRange = (value: string): boolean => parseRange(value) !== null;

/**
 * One spelling per address, so one client is one key: uWS writes IPv6 peers unabbreviated
 * (`0000:…:0001`) and an IPv4 client on a dual-stack socket as `::ffff:a.b.c.d`, while proxies
 * write the short forms. Null for text that is not an address (ports, zone ids, names).
 */
export function canonicalAddress(text: string): string | null {
  const family = familyOf(text);
  if (family === 'ipv4') return text;
  if (family === null) return null;
  const address = new SocketAddress({ address: text, family }).address;
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The standard walk (as Express's and Fastify's `trustProxy`): from the right of
 * X-Forwarded-For, each hop a trusted proxy appended is skipped, and the first address not
 * trusted is the client; everything left of it was written by that client and may be forged.
 * A malformed hop falls back to the peer (the nearest hop there is no doubt about); a list
 * that is all trusted proxies gives its leftmost one. At most MAX_FORWARDED_HOPS hops of the
 * last MAX_FORWARDED_CHARS characters are looked at.
 */
export function pickClient(peer: string, forwardedFor: string, trusted: (address: string) => boolean): string {
  let tail = forwardedFor;
  if (tail.length > MAX_FORWARDED_CHARS) {
    // The first piece of a cut header may be half an address: drop it.
    tail = tail.slice(-MAX_FORWARDED_CHARS);
    tail = tail.slice(tail.indexOf(',') + 1);
  }
  let client = peer;
  let end = tail.length;
  for (let hop = 0; hop < MAX_FORWARDED_HOPS && end > 0; hop++) {
    const start = tail.lastIndexOf(',', end - 1) + 1;
    const address = canonicalAddress(tail.slice(start, end).trim());
    if (address === null) return peer;
    client = address;
    if (!trusted(address)) return client;
    end = start - 1;
  }
  return client;
}

/** The `--trust-proxy` list, checked against peers and forwarded hops. */
export class TrustedProxies {
  private readonly list: BlockList | null;

  /** Values are checked at start-up (settings.ts); one that is not an address throws here. */
  constructor(values: readonly string[]) {
    this.list = values.length === 0 ? null : new BlockList();
    for (const value of values) {
      const range = parseRange(value);
      if (range === null) throw new Error(`--trust-proxy ${JSON.stringify(value)} is not an IP address or CIDR range`);
      if (range.prefix === null) this.list?.addAddress(range.address, range.family);
      else this.list?.addSubnet(range.address, range.prefix, range.family);
    }
  }

  /** Whether `address` (a canonical or uWS-written address) is a trusted proxy. */
  trusts(address: string): boolean {
    if (this.list === null) return false;
    const family = familyOf(address);
    // BlockList matches an IPv4 rule against ::ffff:a.b.c.d itself.
    return family !== null && this.list.check(address, family);
  }

  /**
   * The client behind a connection from `peer`. `forwardedFor` is called only when the peer is
   * trusted: everyone else's headers are never read.
   */
  clientOf(peer: string, forwardedFor: () => string): string {
    const canonical = canonicalAddress(peer) ?? peer;
    if (!this.trusts(canonical)) return canonical;
    return pickClient(canonical, forwardedFor(), (a) => this.trusts(a));
  }
}
