/**
 * Connections open from one address to a local TCP port, as the kernel lists them (Linux:
 * /proc/net/tcp and /proc/net/tcp6). libzmq tells the proxy's ZAP handler a peer's address when
 * the peer asks to join, but nothing when a connection ends, so the count per address cannot be
 * kept from libzmq's events: it is read from the kernel each time one is asked for.
 */
import { readFileSync } from 'node:fs';

/** The kernel's connection state for an established TCP connection (include/net/tcp_states.h). */
const ESTABLISHED = '01';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/** An address in one canonical text form (IPv6 compressed, IPv4-mapped as hex), for comparing. */
function canonical(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return address;
  }
}

/** A /proc/net/tcp* address ("0100007F", 32-bit words in host order, little-endian here) as text. */
function decode(hex: string): string | null {
  if (!/^[0-9A-F]+$/i.test(hex) || (hex.length !== 8 && hex.length !== 32)) return null;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8)
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(hex.slice(word + 2 * b, word + 2 * b + 2), 16));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return canonical(groups.join(':'));
}

/**
 * Established connections from `address` to local `port`; null where the kernel does not list
 * them (not Linux, or /proc not mounted). Each call reads the tables whole: it is asked once per
 * connection that asks to join.
 */
export function openFrom(
  address: string,
  port: number,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number | null {
  const wanted = canonical(address);
  let found = false;
  let count = 0;
  for (const table of TABLES) {
    let text: string;
    try {
      text = read(table);
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split('\n')) {
      // "  sl  local_address rem_address   st ..."
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (state !== ESTABLISHED || local === undefined || remote === undefined) continue;
      const [, localPort] = local.split(':');
      if (localPort === undefined || Number.parseInt(localPort, 16) !== port) continue;
      const [remoteHex] = remote.split(':');
      if (remoteHex !== undefined && decode(remoteHex) === wanted) count++;
    }
  }
  return found ? count : null;
}
