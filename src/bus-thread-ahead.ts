/**
 * The bus thread's creation: ahead of the subscription when `serve` starts (its Node start and
 * modules, zeromq's addon among them, load on the other core while the service is built), or
 * by the subscription itself; and when a thread may be ended without taking the process with it.
 */
import { Worker } from 'node:worker_threads';
import type { busWorkerData } from './bus-thread-options.js';
import type { BusThreadStart } from './bus-thread-protocol.js';
import { loadedOf, trackThread } from './process-exit.js';

/** Under vitest the sources are TypeScript; the thread always runs the built file. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/src/bus-worker.js', import.meta.url)
  : new URL('./bus-worker.js', import.meta.url);

/** A bus thread created ahead of the subscription (prestartBusThread), not yet taken by it. */
let ahead: { readonly worker: Worker; readonly forget: () => void } | null = null;

/**
 * Creates the bus thread ahead of the service's subscribe, which takes it: its start (Node's
 * own, then its modules, zeromq's addon among them) runs on the other core while the main thread
 * loads and builds the service, instead of after the HTTP listen, with the main thread waiting.
 * It waits for its data (BusThreadStart) and opens nothing before; it never keeps the process
 * alive, and one that ended meanwhile is dropped (the subscription creates another, which ends
 * the same way, through the checks below).
 */
export function prestartBusThread(): void {
  if (ahead !== null) return;
  const worker = new Worker(WORKER_URL, { workerData: null });
  worker.unref();
  trackThread(worker, 'the bus thread', loadedOf(worker));
  const forget = () => {
    if (ahead?.worker === worker) ahead = null;
  };
  // Not re-thrown here: the one created in its place reports the same failure.
  worker.on('error', forget);
  worker.once('exit', forget);
  ahead = { worker, forget };
}

/** The thread created ahead, given its data, else a new one. */
export function busWorker(data: ReturnType<typeof busWorkerData>): {
  readonly worker: Worker;
  readonly wasAhead: boolean;
} {
  if (ahead === null) return { worker: new Worker(WORKER_URL, { workerData: data }), wasAhead: false };
  const { worker, forget } = ahead;
  ahead = null;
  worker.off('error', forget);
  worker.off('exit', forget);
  worker.ref();
  worker.postMessage({ type: 'start', data } satisfies BusThreadStart);
  return { worker, wasAhead: true };
}
