/**
 * What each AMQP input reports beyond its connection status (AmqpStatus, amqp-status.ts): the
 * counts AmqpInputs keeps per input (its Tally), read back as /metrics and /readyz show them.
 */
import type { AmqpState, AmqpStatus } from './amqp-bus.js';
import { DeliveryOrder } from './amqp-delivery-order.js';
import { RecentRefusals } from './amqp-refusals.js';
import { DECODE_ERROR_REASONS, type DecodeErrorReason } from './decode-frames.js';

export interface AmqpInputReport extends AmqpStatus {
  readonly duplicates: number;
  readonly decodeErrors: Readonly<Record<DecodeErrorReason, number>>;
  readonly refusedRedeliveries: number;
  /** Deliveries acked that the journal could not store: lost to this instance. */
  readonly unjournaled: number;
}

/** One AMQP input as /readyz shows it. */
export interface AmqpReadiness {
  readonly input: string;
  readonly state: AmqpState;
  readonly reason: string | null;
  readonly since: string;
  readonly queue: string | null;
  readonly durable_queue: boolean;
  readonly deliveries: number;
  readonly acked: number;
  /** Deliveries received and not yet acked, across connections (start-up holds them). */
  readonly held: number;
  /** The cap on `held` (--amqp-max-held): past it a new connection defers its consume. */
  readonly max_held: number | null;
  readonly consume_deferrals: number;
  /** Deliveries acked that the journal could not store (statscache_amqp_unjournaled_total). */
  readonly unjournaled: number;
}

export interface Tally {
  duplicates: number;
  decodeErrors: Record<DecodeErrorReason, number>;
  /** Refused deliveries that came back after their ack was lost (not counted again). */
  refusedRedeliveries: number;
  /** Deliveries the journal could not store, acked and lost. */
  unjournaled: number;
  refused: RecentRefusals;
  downSince: number | null;
  /** The input consumed once already (a later queue is a resume, not a first). */
  consumed: boolean;
  /** Its deliveries' journaling order (amqp-delivery-order.ts). */
  readonly order: DeliveryOrder;
}

/** A fresh input's tally: nothing counted yet. */
export function newTally(): Tally {
  return {
    duplicates: 0,
    decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number>,
    refusedRedeliveries: 0,
    unjournaled: 0,
    refused: new RecentRefusals(),
    downSince: null,
    consumed: false,
    order: new DeliveryOrder(),
  };
}
