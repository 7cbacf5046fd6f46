import type { Corrected } from './envelope-limits.js';
import type { MonitorEvent } from './bus-endpoints.js';
import type { DecodeErrorReason } from './decode-frames.js';
import { preparedFlags } from './prepared-flags.js';

/**
 * A batch's items travel packed, ITEM_INTS int32s each, in an ArrayBuffer transferred with it:
 * flags (prepared-flags.ts), source (an index into the batch's `sources`), where the message's record ends in the
 * batch buffer and where its encoded head (prepared-head.ts) ends. Structured-cloning an object
 * per message cost both threads ~1 µs a message; the rare messages the bus thread could not
 * prepare ride along as objects in `others`, in order, one per item without READY.
 */
export const ITEM_INTS = 4;
/** A message the main thread decodes itself (no timestamp, and the thread has no clock to fill it: bus-prepare.ts), or a refused one. */
export type OtherItem =
  | { readonly k: 'clock'; readonly f: readonly Uint8Array[] }
  | { readonly k: 'rejected'; readonly r: DecodeErrorReason; readonly d: string };

export interface PackedItems {
  /** count × ITEM_INTS int32s. */
  readonly items: ArrayBuffer;
  readonly count: number;
  readonly sources: readonly string[];
  readonly others: readonly OtherItem[];
}

/** Gathers a batch's items on the bus thread. */
export class ItemBatch {
  private ints = new Int32Array(64 * ITEM_INTS);
  private sources: string[] = [];
  private others: OtherItem[] = [];
  /** Items gathered since the last take(). */
  count = 0;

  ready(source: string, end: number, headEnd: number, corrected: Corrected, truncated: boolean, filled: boolean): void {
    const flags = preparedFlags(truncated, corrected, filled);
    this.push(flags, source, end, headEnd);
  }

  other(source: string, item: OtherItem): void {
    this.others.push(item);
    this.push(0, source, 0, 0);
  }

  /** The items packed to transfer; starts the next batch. */
  take(): PackedItems {
    const items = this.ints.slice(0, this.count * ITEM_INTS).buffer;
    const packed = { items, count: this.count, sources: this.sources, others: this.others };
    this.sources = [];
    this.others = [];
    this.count = 0;
    return packed;
  }

  private push(flags: number, source: string, end: number, headEnd: number): void {
    let s = this.sources.indexOf(source);
    if (s < 0) s = this.sources.push(source) - 1;
    const at = this.count * ITEM_INTS;
    if (at + ITEM_INTS > this.ints.length) {
      const grown = new Int32Array(this.ints.length * 2);
      grown.set(this.ints);
      this.ints = grown;
    }
    this.ints[at] = flags;
    this.ints[at + 1] = s;
    this.ints[at + 2] = end;
    this.ints[at + 3] = headEnd;
    this.count++;
  }
}

/** Bus thread → main thread. */
export type FromBusThread =
  /** Its modules (zeromq's addon among them) are loaded: ending it from now on cannot abort the process. */
  | { readonly type: 'loaded' }
  | { readonly type: 'ready'; readonly bound: readonly string[] }
  | { readonly type: 'open-failed'; readonly message: string; readonly code: string | undefined }
  | ({ readonly type: 'batch'; readonly buffer: ArrayBuffer; readonly bytes: number } & PackedItems)
  | { readonly type: 'monitor'; readonly source: string; readonly event: MonitorEvent }
  | { readonly type: 'receive-error'; readonly source: string; readonly message: string }
  | { readonly type: 'loop-end'; readonly source: string; readonly message: string | null }
  /**
   * Closed: its sockets and their monitors (bus-release.ts letGo), nothing of zeromq's left
   * reading, so ending it from now on cannot abort the process. It ends by itself right after.
   */
  | { readonly type: 'released' };

/** Main thread → bus thread. */
export type ToBusThread =
  /** Batches were taken in (their credit is in the shared totals: bus-credit.ts) while the thread waited for it. */
  { readonly type: 'wake' } | { readonly type: 'close' };

/** Main thread → a bus thread created ahead (bus-thread-ahead.ts prestartBusThread): its first message, before any other. */
export interface BusThreadStart {
  readonly type: 'start';
  /** What a thread created for the subscription gets as its workerData (bus-thread-options.ts busWorkerData). */
  readonly data: unknown;
}

/**
 * What a message the bus thread hands over is counted as against --bus-queue-max-bytes: the
 * bytes it carries plus this, for the objects that carry them on both threads (the item, the
 * unpacked head, the journal entry), so that a flood of tiny messages is bounded too.
 */
export const ITEM_OVERHEAD_BYTES = 512;
