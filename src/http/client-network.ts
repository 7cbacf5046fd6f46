/**
 * The key per-IP limits count a client under. An IPv4 client is its address; an IPv6 client is
 * its network of `--ipv6-client-prefix` bits (64 by default): an ISP hands one subscriber a /64
 * or more, so one host holds 2^64 addresses and, counted per address, could open as many
 * shares of every per-IP limit (connections, subscriptions, new views) as it pleased.
 */
import { isIP, SocketAddress } from 'node:net';

/** Bits of an IPv6 address that name one client by default. */
export const DEFAULT_IPV6_CLIENT_PREFIX = 64;

/** `address` (canonical, client-address.ts) as the key its client is counted under. */
export function clientNetwork(address: string, ipv6Prefix: number): string {
  if (ipv6Prefix >= 128 || isIP(address) !== 6) return address;
  const words = hextets(address);
  if (words === null) return address;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, ipv6Prefix - i * 16));
    words[i] = keep === 0 ? 0 : (words[i] as number) & ((0xffff << (16 - keep)) & 0xffff);
  }
  const network = new SocketAddress({ address: words.map((w) => w.toString(16)).join(':'), family: 'ipv6' });
  return `${network.address}/${ipv6Prefix}`;
}

/** The eight 16-bit words of a valid IPv6 address (`::` and a dotted IPv4 tail expanded), or null. */
function hextets(address: string): number[] | null {
  const words = (text: string): number[] => {
    if (text === '') return [];
    const out: number[] = [];
    for (const part of text.split(':')) {
      if (part.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(part, 16));
    }
    return out;
  };
  const gap = address.indexOf('::');
  if (gap < 0) {
    const all = words(address);
    return all.length === 8 ? all : null;
  }
  const head = words(address.slice(0, gap));
  const tail = words(address.slice(gap + 2));
  const zeros = 8 - head.length - tail.length;
  return zeros < 0 ? null : [...head, ...new Array<number>(zeros).fill(0), ...tail];
}
