import type { DataDirLock } from '../snapshots/data-dir-lock.js';
import type { BusSubscription } from './bus.js';
import type { RunningServer } from './http/uws-server.js';
import type { ReadinessView } from './readiness.js';
import { StoreWalks } from './store-walks.js';
import type { HangWatch } from './hang-watch.js';

export type Phase = ReadinessView['phase'];

/** A gate the bus loop waits on while the journal replays and the start-up backfill runs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/**
 * What the service's start, recover and stop sequences share and change as they run: the
 * phase, what start() has opened, and what a stop must wait for or cancel.
 */
export class ServiceState {
  phase: Phase = 'built';
  server: RunningServer | null = null;
  subscription: BusSubscription | null = null;
  /** The data dir lock, held from build() until stop() or close(). */
  lock: DataDirLock | null = null;
  readonly timers: (() => void)[] = [];
  readonly liveGate = gate();
  readonly abort = new AbortController();
  /**
   * What start() is opening now (the HTTP listener, the bus sockets): stop() waits for it, then
   * closes what it opened. A stop that did not wait found nothing to close yet, finished, and
   * the process exited with the bus thread's sockets half open: libzmq aborted the process
   * (SIGABRT, 3 of 40 starts stopped at random points).
   */
  opening: Promise<unknown> = Promise.resolve();
  /**
   * recover() under way (journal catch-up and replay, the start-up backfill), settled however it
   * ends: stop() and close() wait for it, once aborted, before the store closes. close() did
   * not: it returned with the replay thread still reading the data file, and an in-thread
   * replay read on from the closed store (MDB_BAD_TXN, recover() rejected).
   */
  recovering: Promise<unknown> = Promise.resolve();
  /** Paced reads of the store started from HTTP: close() cancels them, stop() waits, before the store closes. */
  readonly walks = new StoreWalks();
  /** Why intake is dead (a receive loop ended while running); null while healthy. */
  fatal: string | null = null;
  /** close() was called: bus batches still handed over are not taken in (the store is closing). */
  released = false;
  /** Bus threads taken for stuck (--thread-hang-timeout): intake stopped. */
  busThreadHangs = 0;
  /** The thread that ends the process when a plugin hangs (hang-watch.ts); null when off or not started. */
  hangWatch: HangWatch | null = null;
  /** Why the hang watch thread stopped watching before stop(), or null (the degraded reason). */
  hangWatchFailed: string | null = null;

  /** Marks `opening` as what start() awaits now, so a stop meanwhile waits for it. */
  step<T>(opening: Promise<T>): Promise<T> {
    this.opening = opening.catch(() => undefined);
    return opening;
  }
}
