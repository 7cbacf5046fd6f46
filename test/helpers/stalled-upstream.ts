import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * An upstream publisher for `statscache proxy` that can stop reading: a ZMTP 3.0 peer over ipc,
 * written by hand because libzmq's own sockets read on into their queues whatever the
 * application does. It greets as a PUB and, while stalled, reads nothing, so what the proxy
 * sends up piles in the kernel's small unix-socket buffer and then in the proxy's own libzmq
 * queue, where libzmq drops (silently) what does not fit. Subscriptions are recorded as
 * XPUB hands them over: `\x01prefix` or `\x00prefix`, per connection.
 */
export interface StalledUpstream {
  readonly endpoint: string;
  /** What each connection (in the order they were made) sent up. */
  readonly connections: readonly string[][];
  /** Reads what every connection holds and all that comes later. */
  resume(): void;
  /** Ends the current connections (the proxy reconnects). */
  cut(): void;
}

// Signature, version 3.0 (so libzmq sends subscriptions as messages, not 3.1 commands),
// mechanism NULL, as-server 0, filler.
const GREETING = Buffer.concat([
  Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0]),
  Buffer.from('NULL'.padEnd(20, '\0')),
  Buffer.alloc(32),
]);
const READY = (() => {
  const name = Buffer.from('Socket-Type');
  const value = Buffer.from('PUB');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  const body = Buffer.concat([Buffer.from('\x05READY'), Buffer.from([name.length]), name, length, value]);
  return Buffer.concat([Buffer.from([0x04, body.length]), body]);
})();

/** Splits a ZMTP 3.0 byte stream after the greeting into frames, recording subscriptions. */
function zmtpReader(record: (subscription: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let greeted = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    if (!greeted) {
      if (pending.length < GREETING.length) return;
      pending = pending.subarray(GREETING.length);
      greeted = true;
    }
    for (;;) {
      if (pending.length < 2) return;
      const flags = pending[0] as number;
      const long = (flags & 0x02) !== 0;
      const head = long ? 9 : 2;
      if (pending.length < head) return;
      const size = long ? Number(pending.readBigUInt64BE(1)) : (pending[1] as number);
      if (pending.length < head + size) return;
      const body = pending.subarray(head, head + size);
      pending = pending.subarray(head + size);
      // Commands (READY) are not subscriptions; every message the proxy sends here is one frame.
      if ((flags & 0x04) === 0) record(body.toString('latin1'));
    }
  };
}

export async function stalledUpstream(cleanups: (() => unknown)[]): Promise<StalledUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'stalled-upstream-'));
  const path = join(dir, 'up.sock');
  const connections: string[][] = [];
  const sockets = new Set<Socket>();
  let reading = false;
  // Connections made while stalled, each waiting to be read.
  const stalled: (() => void)[] = [];
  const read = (socket: Socket, seen: string[]) => {
    socket.on(
      'data',
      zmtpReader((s) => seen.push(s)),
    );
    socket.resume();
  };
  const server = createServer((socket) => {
    const seen: string[] = [];
    connections.push(seen);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.pause();
    socket.write(Buffer.concat([GREETING, READY]));
    if (reading) read(socket, seen);
    else stalled.push(() => read(socket, seen));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    endpoint: `ipc://${path}`,
    connections,
    resume: () => {
      reading = true;
      for (const go of stalled.splice(0)) go();
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
