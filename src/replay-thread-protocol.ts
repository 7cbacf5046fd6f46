import type { ShapeBounds } from '../snapshots/journal-read.js';

/** What the replay thread is started with (replay-thread.ts). */
export interface ReplayWorkerData {
  /** The data directory (lmdb-store.ts DataStore). */
  readonly dir: string;
  /** Replays the records with seq > after. */
  readonly after: number;
  /** Bounds each record's bytes are read for (Journal.after's `shape`). */
  readonly shape: ShapeBounds | undefined;
  readonly maxFanout: number;
  /** Records per batch. */
  readonly batch: number;
  /** Batches handed over and not yet acknowledged, beyond which the thread waits. */
  readonly maxInFlight: number;
  /** The thread's Pulse (thread-pulse.ts): beats per record read and while it waits. */
  readonly pulse: SharedArrayBuffer;
}

/** One record of a batch: its stored bytes end at `end` in the batch buffer, its head (prepared-head.ts) at `headEnd`. */
export interface ReplayItem {
  readonly seq: number;
  readonly end: number;
  readonly headEnd: number;
  /** Meta was cut to the fan-out cap. */
  readonly t: boolean;
  /** The bytes proved the envelope within `shape`. */
  readonly w: boolean;
}

/** Replay thread → main thread. `corrupt`: records before and among these that failed their checksum. */
export type FromReplayThread =
  | {
      readonly type: 'batch';
      readonly items: readonly ReplayItem[];
      readonly buffer: ArrayBuffer;
      readonly corrupt: number;
    }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly message: string }
  /** Its modules (lmdb's addon among them) are loaded: ending it no longer aborts the process. */
  | { readonly type: 'loaded' };

/** Main thread → replay thread. */
export type ToReplayThread = { readonly type: 'ack' } | { readonly type: 'stop' };
