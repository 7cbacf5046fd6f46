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

/** A socket's monitor (zeromq.js's Observer), as far as it is let go. */
export interface Monitor {
  readonly closed: boolean;
  close(): void;
}

/** The part of a zeromq socket its release is read from. */
export interface ReleasingSocket {
  readonly events: { on(type: 'end', listener: () => void): unknown };
}

/**
 * Bound on the wait for libzmq: an event it drops, or threads it gets no CPU for, must not hold a
 * stop for good. Past it the bus thread closes the monitors still reading (letGo) and ends; on
 * the main thread (--bus-thread false) they are left to the process's exit.
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

/**
 * zeromq.js's reason for a monitor's read pending as it was closed (lib/index.js's emitter loop,
 * which nothing awaits): the read settles with the monitor socket gone.
 */
const CLOSED_READ = 'ENOTSOCK';
let absorbing = false;

/**
 * Stops waiting for libzmq on a thread that is about to end (the bus thread): closes every
 * monitor still reading. A monitor reads until libzmq says MONITOR_STOPPED, which its reaper
 * thread says only once it has run; with libzmq's threads starved (no CPU for ~2 s) the bus
 * thread outlived the main thread's CLOSE_WAIT_MS, was ended by terminate(), and the pending
 * read aborted the whole process as the thread's environment was torn down (zeromq.js's
 * ~Observer -> Close() settles the read, and creating its error throws Napi::Error there:
 * "terminate called after throwing an instance of 'Napi::Error'", SIGABRT before the final
 * snapshot, every stop so starved). Closed here, from JavaScript, the read settles at once,
 * the thread's event loop empties, and it ends by itself: nothing is left for teardown.
 *
 * The reads settle as rejections nothing can await; those are taken here (this thread is ending,
 * and they say only that the monitor closed), any other is thrown on as Node would.
 */
export function letGo(monitors: Iterable<Monitor>): void {
  if (!absorbing) {
    absorbing = true;
    process.on('unhandledRejection', (reason) => {
      if ((reason as { code?: unknown } | null)?.code === CLOSED_READ) return;
      throw reason;
    });
  }
  for (const monitor of monitors) if (!monitor.closed) monitor.close();
}
