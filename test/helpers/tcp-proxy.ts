import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy to a local port that can stop passing bytes either way (a broker that stops
 * answering), or accept new connections and never answer them (a wedged broker or proxy).
 * Listens on `port` when given (a broker that comes up where a service already looks for it).
 */
export async function tcpProxy(
  target: string,
  port = 0,
): Promise<{
  port: number;
  accepted: () => number;
  blackhole(): void;
  dropUpstream(drop: boolean): void;
  hangNew(hang: boolean): void;
  refuseNew(refuse: boolean): void;
  cut(): void;
  close(): void;
}> {
  let open = true;
  let upstreamOpen = true;
  let hanging = false;
  let refusing = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    accepted++;
    if (refusing) {
      client.destroy();
      return;
    }
    if (hanging) {
      sockets.add(client);
      client.on('error', () => undefined);
      return;
    }
    const upstream = connect(Number(target), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (d) => open && upstreamOpen && upstream.write(d));
    upstream.on('data', (d) => open && client.write(d));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    blackhole: () => {
      open = false;
    },
    /** Drops what clients send (an ack that never reaches the broker) while the broker's bytes still pass. */
    dropUpstream: (drop) => {
      upstreamOpen = !drop;
    },
    hangNew: (hang) => {
      hanging = hang;
    },
    /** Closes new connections at once (a broker out of reach); those made before go on. */
    refuseNew: (refuse) => {
      refusing = refuse;
    },
    /** Drops every connection made so far (a network blip); new ones pass as before. */
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
