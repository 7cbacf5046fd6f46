/**
 * Whether this process still listens on a TCP port, as the kernel lists it (Linux: /proc).
 *
 * Binding the port again from the test (Node's listen(), libzmq's bind) says EADDRINUSE for
 * any socket on it, this process's or another's: on a shared box a freed ephemeral port can be
 * taken at once by another process's bind or connect. What close() promises is narrower, that
 * this process has let go of it: a LISTEN row on the port whose socket inode is one of our
 * descriptors.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The kernel's state for a listening socket (include/net/tcp_states.h). */
const LISTEN = '0A';

/** The inodes of the sockets among this process's descriptors. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // Closed between the listing and the read: not ours any more.
    }
  }
  return inodes;
}

/** The local ports on which a socket of this process listens (any address, IPv4 and IPv6). */
export function ownListeningPorts(): Set<number> {
  const own = ownSocketInodes();
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      const local = f[1]?.split(':')[1];
      if (local !== undefined && f[3] === LISTEN && f[9] !== undefined && own.has(f[9]))
        ports.add(Number.parseInt(local, 16));
    }
  }
  return ports;
}

/** Whether a socket of this process listens on `port`. */
export const listensHere = (port: number): boolean => ownListeningPorts().has(port);

/** The port of a `tcp://host:port` endpoint. */
export const portOf = (endpoint: string): number => Number(endpoint.split(':').pop());
