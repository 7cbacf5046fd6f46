/**
 * When libzmq has let go of a closed socket. zmq_close() only hands the socket to libzmq's
 * reaper thread; its listeners' descriptors are closed later, on libzmq's I/O thread, and the
 * context is shared by every thread of the process (zeromq.js), so neither the bus thread's
 * exit nor the end of its receive loops waits for that. Service.close() returned with the
 * `--bind` port still listening (a LISTEN socket of this very process, 23 of 40 closes with
 * libzmq's threads starved, 10 of 100 plain openSockets closes at load ~18): an embedder that
 * binds the same endpoint again right after (a restart in-process) met EADDRINUSE. So did a
 * restart of the proxy (its backend, and its ZAP handler's one inproc address) and of publisher().
 *
 * libzmq's monitor says MONITOR_STOPPED (zeromq.js: the observer's 'end') as it destroys the
 * socket, after each of its listeners has closed its descriptor and said CLOSED: that is the
 * moment the endpoint is free. The observer is made just before close(), not with the socket:
 * its read, pending all along, made a terminate() of the bus thread (a hung one,
 * --thread-hang-timeout) abort the whole process ("terminate called after throwing an instance
 * of 'Napi::Error'": test/recovery/bus-thread-hang.test.ts, every run).
 */

/** The part of a zeromq socket its release is read from. */
export interface ReleasingSocket {
  readonly events: { on(type: 'end', listener: () => void): unknown };
}

/**
 * Bound on the wait for libzmq: an event it drops must not hold a stop for good. The bus thread
 * lives until its monitors have heard 'end' whatever this says (their reads hold its event
 * loop, as a --connect socket's always did): its own bound is the main thread's CLOSE_WAIT_MS.
 */
export const RELEASE_WAIT_MS = 1000;

/** Settles once libzmq has destroyed `sock`. Call just before its close(). */
export function whenReleased(sock: ReleasingSocket): Promise<void> {
  return new Promise((resolve) => {
    sock.events.on('end', () => resolve());
  });
}

/** A socket to close and then wait for (closeReleasing). */
export interface ClosableSocket extends ReleasingSocket {
  readonly closed: boolean;
  close(): void;
}

/** Closes `sock` unless it is closed already, adding when libzmq has let go of it to `releases`. */
export function closeReleasing(sock: ClosableSocket, releases: Promise<void>[]): void {
  if (sock.closed) return;
  releases.push(whenReleased(sock));
  sock.close();
}

/** Settles once every one of `releases` has, or after `waitMs` whatever is left. */
export function allReleased(releases: readonly Promise<void>[], waitMs = RELEASE_WAIT_MS): Promise<void> {
  if (releases.length === 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
    // A process with nothing else left to do need not wait for it (the CLI's exit is bounded too).
    timer.unref();
  });
  return Promise.race([Promise.all(releases).then(() => undefined), bound]).finally(() => clearTimeout(timer));
}
