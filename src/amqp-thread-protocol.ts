/**
 * What crosses between the main thread and the AMQP input thread (amqp-input-thread.ts starts
 * amqp-thread-worker.ts): the thread holds the connections (amqplib, its guards, the acks) and
 * prepares each delivery; the main thread journals it and says when it may be acked.
 */
import type { Corrected } from './envelope-limits.js';
import type { AmqpState, AmqpStatus } from './amqp-status.js';
import type { PackedDeliveries } from './amqp-thread-batch.js';
import type { ThreadLimits } from './bus-prepare.js';
import type { DecodeErrorReason } from './decode-frames.js';

/** One input as the thread builds its AmqpInput (amqp-input-options.ts, less the hooks). */
export interface ThreadInputOptions {
  readonly label: string;
  readonly url: string;
  readonly bindings: readonly string[];
  readonly queue: string | null;
  readonly prefetch: number;
  readonly maxHeld: number;
  readonly maxBodyBytes: number;
  readonly heartbeatSeconds: number;
  readonly tls: { readonly ca?: Uint8Array; readonly cert?: Uint8Array; readonly key?: Uint8Array };
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
}

export interface AmqpThreadData {
  readonly inputs: readonly ThreadInputOptions[];
  readonly limits: ThreadLimits;
  /** capTables (amqp-codec-guard.ts): --max-frame-bytes. */
  readonly maxTableBytes: number;
  /** Where a durable queue's bindings are recorded (amqp-binding-record.ts). */
  readonly dataDir: string;
  /** The thread's Pulse (thread-pulse.ts). */
  readonly pulse: SharedArrayBuffer;
}

/** A delivery as the main thread needs it beside what the thread made of it (unpacked from PackedDeliveries). */
export interface ItemBase {
  /** Index into AmqpThreadData.inputs. */
  readonly input: number;
  /** The thread's id of the delivery: its settlement names it. */
  readonly id: number;
  /** Its connection's number: `superseded` names it once that connection is lost. */
  readonly conn: number;
  readonly routingKey: string;
  readonly redelivered: boolean;
  /** decodedBytes([content]): what it costs held in memory. */
  readonly bytes: number;
}

/**
 * `ready`: record in [start, end) of the batch's buffer, its head in [end, headEnd), where
 * `start` is the previous ready item's headEnd (0 for the first). `rejected`: refused by the
 * thread, with refusalDigest's digest. `raw`: preparing it threw, the main thread decodes it.
 */
export type ThreadItem = ItemBase &
  (
    | {
        readonly k: 'ready';
        readonly end: number;
        readonly headEnd: number;
        readonly truncated: boolean;
        readonly corrected: Corrected;
        readonly filled: boolean;
      }
    | { readonly k: 'rejected'; readonly reason: DecodeErrorReason; readonly detail: string; readonly digest: string }
    | {
        readonly k: 'raw';
        readonly content: Uint8Array;
        readonly messageId: unknown;
        readonly headers: unknown;
      }
  );

/** Thread → main. */
export type FromAmqpThread =
  | { readonly kind: 'up' }
  /** The deliveries of one turn, in order, and every input's status after it. */
  | {
      readonly kind: 'batch';
      /** Packed (amqp-thread-batch.ts): unpackDeliveries gives them back as ThreadItems. */
      readonly items: PackedDeliveries;
      readonly buffer: ArrayBuffer | null;
      readonly statuses: readonly AmqpStatus[];
    }
  | { readonly kind: 'statuses'; readonly statuses: readonly AmqpStatus[] }
  | { readonly kind: 'state'; readonly input: number; readonly status: AmqpStatus; readonly previous: AmqpState }
  | { readonly kind: 'superseded'; readonly conn: number; readonly input: number }
  | {
      readonly kind: 'log';
      readonly level: 'info' | 'warn';
      readonly fields: Record<string, unknown>;
      readonly msg: string;
    }
  | { readonly kind: 'closed'; readonly input: number; readonly status: AmqpStatus };

/** Main → thread. */
export type ToAmqpThread =
  | { readonly kind: 'start' }
  /**
   * Deliveries settled on the main thread: `ok` committed and applied (ack), `refused` never to
   * be taken in (ack at once), `failed` not stored (the connection is dropped; redelivered).
   */
  | {
      readonly kind: 'settled';
      readonly ok: readonly number[];
      readonly refused: readonly number[];
      readonly failed: readonly (readonly [id: number, message: string])[];
    }
  | { readonly kind: 'close'; readonly input: number };
