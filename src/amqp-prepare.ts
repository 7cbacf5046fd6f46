/**
 * One AMQP delivery prepared off the main thread (amqp-prepare-worker.ts): the same decode as
 * the main thread's (decodeDelivery), then the id, journal record and head the bus thread makes
 * of a ZeroMQ message (bus-prepare.ts preparedOf), so the main thread only unpacks and journals
 * it. The future-timestamp bound stays with the main thread's clock (amqp-intake-delivery.ts).
 */
import { decodeDelivery, type Delivery, TOO_DEEP } from './amqp-message.js';
import { type Prepared, preparedOf, type ThreadLimits, unclocked } from './bus-prepare.js';

/**
 * A Delivery as it crosses to the worker: structured cloning drops symbol-keyed properties, so
 * the codec guard's TOO_DEEP mark travels as a field. (The size marks are judged before a
 * delivery is handed over: oversizedDelivery, on the main thread.)
 */
export interface WireDelivery {
  readonly routingKey: string;
  readonly content: Uint8Array;
  readonly messageId: unknown;
  readonly headers: unknown;
  readonly tooDeep: number | undefined;
}

export function toWireDelivery(delivery: Delivery, content: Uint8Array): WireDelivery {
  const { headers } = delivery;
  const tooDeep =
    typeof headers === 'object' && headers !== null ? (headers as { [TOO_DEEP]?: number })[TOO_DEEP] : undefined;
  return { routingKey: delivery.routingKey, content, messageId: delivery.messageId, headers, tooDeep };
}

/** The Delivery again, on the worker's side. */
export function fromWireDelivery(wire: WireDelivery): Delivery {
  let headers = wire.headers;
  if (wire.tooDeep !== undefined) headers = Object.assign(Object(headers ?? {}), { [TOO_DEEP]: wire.tooDeep });
  return { routingKey: wire.routingKey, content: wire.content, messageId: wire.messageId, headers, redelivered: false };
}

/** As bus-prepare.ts's Prepared; `clock`: the main thread decodes the delivery itself. */
export type PreparedDelivery = Exclude<Prepared, { kind: 'clock' }> | { readonly kind: 'clock' };

/**
 * Whether the envelope takes the service's clock as its timestamp: no `sent-at` (decodeDelivery
 * leaves an absent or null one out, and so the timestamp).
 */
function untimed(delivery: Delivery): boolean {
  const headers = delivery.headers;
  if (typeof headers !== 'object' || headers === null) return true;
  // Own fields only, as jsonSafe reads them (Object.entries).
  const sent = Object.hasOwn(headers, 'sent-at') ? (headers as Record<string, unknown>)['sent-at'] : undefined;
  return sent === undefined || sent === null;
}

/**
 * unclocked(limits), made once per limits object: a spread of the thread's workerData copy per
 * delivery took V8's slow path (a DefineNamedOwnIC_Slow and a map transition each, ~2% of the
 * AMQP input thread in perf).
 */
const unclockedLimits = new WeakMap<ThreadLimits, ReturnType<typeof unclocked>>();
function unclockedOnce(limits: ThreadLimits): ReturnType<typeof unclocked> {
  let made = unclockedLimits.get(limits);
  if (made === undefined) {
    made = unclocked(limits);
    unclockedLimits.set(limits, made);
  }
  return made;
}

/**
 * `fill`: the service's clock (epoch seconds) when it is the system clock, read once for a
 * delivery without `sent-at` as decodeDelivery reads nowSeconds on the main thread; null (an
 * injected clock no other thread can read): such a delivery goes back as `clock`, for the main
 * thread to decode.
 */
export function prepareDelivery(
  delivery: Delivery,
  limits: ThreadLimits,
  fill: (() => number) | null,
): PreparedDelivery {
  let clocked = unclockedOnce(limits);
  if (untimed(delivery)) {
    if (fill === null) return { kind: 'clock' };
    const now = fill();
    clocked = { ...clocked, nowSeconds: () => now };
  }
  return preparedOf(decodeDelivery(delivery, clocked), limits.maxFanout);
}
