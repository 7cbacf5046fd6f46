import type { MonitorEvent } from './bus-endpoints.js';
import type { DecodeErrorReason } from './decode-frames.js';

/** One message of a batch; `end`: where its record ends in the batch buffer (records and meta back to back). */
export type ThreadItem =
  | {
      readonly k: 'ready';
      readonly s: string;
      readonly end: number;
      /** Where its encoded head (bus-prepare.ts PreparedHead) ends: it follows the record. */
      readonly headEnd: number;
      readonly c: 'milliseconds' | 'microseconds' | null;
      /** Meta was cut to the fan-out cap. */
      readonly t: boolean;
    }
  | { readonly k: 'clock'; readonly s: string; readonly f: readonly Uint8Array[] }
  | { readonly k: 'rejected'; readonly s: string; readonly r: DecodeErrorReason; readonly d: string };

/** Bus thread → main thread. */
export type FromBusThread =
  | { readonly type: 'ready'; readonly bound: readonly string[] }
  | { readonly type: 'open-failed'; readonly message: string; readonly code: string | undefined }
  | { readonly type: 'batch'; readonly items: readonly ThreadItem[]; readonly buffer: ArrayBuffer }
  | { readonly type: 'monitor'; readonly source: string; readonly event: MonitorEvent }
  | { readonly type: 'receive-error'; readonly source: string; readonly message: string }
  | { readonly type: 'loop-end'; readonly source: string; readonly message: string | null };

/** Main thread → bus thread. */
export type ToBusThread = { readonly type: 'ack'; readonly count: number } | { readonly type: 'close' };
