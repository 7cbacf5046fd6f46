/**
 * Prepared bus-thread batches handed to the main thread over a real MessagePort, as bus-worker.ts
 * posts them (`{ type: 'batch', ...packed, buffer, bytes }`, both buffers transferred): a worker
 * thread holds them and posts the next when asked, so the main thread does the receive (the
 * structured clone's deserialization and the 'message' event) for every batch, as bus-thread.ts's
 * handle() is called. The ask is a shared int the worker waits on (Atomics), as the bus thread's
 * credit is shared memory: no message the service would not send crosses to the worker.
 */
import { Worker } from 'node:worker_threads';
import type { PackedItems } from '../src/bus-thread-protocol.js';
import type { PackedBatch } from './thread-batches.js';

export type PortBatch = PackedItems & { readonly type: 'batch'; readonly buffer: ArrayBuffer; readonly bytes: number };

// CommonJS, evaluated: the worker needs nothing of the build.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { batches, ask } = workerData;
for (let b = 0; b < batches.length; b++) {
  // ask[0] is b until the main thread asks for batch b (it stores b + 1).
  Atomics.wait(ask, 0, b);
  const { items, buffer } = batches[b];
  batches[b] = undefined;
  parentPort.postMessage({ type: 'batch', ...items, buffer, bytes: buffer.byteLength }, [buffer, items.items]);
}
`;

export interface PortBatches {
  /** The next batch, received from the worker over its port. */
  next(): Promise<PortBatch>;
  close(): Promise<number>;
}

/** Moves `batches` to a worker thread (their buffers transferred: the caller's copies are detached). */
export function portBatches(batches: readonly PackedBatch[]): PortBatches {
  const ask = new Int32Array(new SharedArrayBuffer(4));
  const transfer: ArrayBuffer[] = [];
  for (const { items, buffer } of batches) transfer.push(buffer, items.items);
  const worker = new Worker(WORKER, { eval: true, workerData: { batches, ask }, transferList: transfer });
  let waiting: { resolve(batch: PortBatch): void; reject(err: unknown): void } | null = null;
  let failed: unknown = null;
  worker.on('message', (batch: PortBatch) => {
    const w = waiting;
    waiting = null;
    w?.resolve(batch);
  });
  worker.on('error', (err) => {
    failed = err;
    waiting?.reject(err);
    waiting = null;
  });
  let asked = 0;
  return {
    next() {
      if (failed !== null) return Promise.reject(failed);
      const received = new Promise<PortBatch>((resolve, reject) => {
        waiting = { resolve, reject };
      });
      Atomics.store(ask, 0, ++asked);
      Atomics.notify(ask, 0);
      return received;
    },
    close: () => worker.terminate(),
  };
}
