import type { Corrected } from './envelope-limits.js';

/**
 * The flags a thread packs with each message it hands the main thread (the bus thread's
 * ItemBatch, the AMQP input thread's DeliveryBatch): prepared (else the next of the batch's
 * `others`); meta cut to the fan-out cap; timestamp read as ms or µs; timestamp filled in by
 * the thread from the service's clock (it had none). One set, so the two hand-overs cannot
 * come to read a bit differently.
 */
export const READY = 1;
export const TRUNCATED = 2;
export const FROM_MILLISECONDS = 4;
export const FROM_MICROSECONDS = 8;
export const FILLED = 16;
/** Every bit above: a batch's own flags (AMQP's `redelivered`) start past it. */
export const PREPARED_BITS = 31;

/** The flags of a prepared message. */
export function preparedFlags(truncated: boolean, corrected: Corrected, filled: boolean): number {
  return (
    READY |
    (truncated ? TRUNCATED : 0) |
    (filled ? FILLED : 0) |
    (corrected === 'milliseconds' ? FROM_MILLISECONDS : corrected === 'microseconds' ? FROM_MICROSECONDS : 0)
  );
}

/** The `corrected` a prepared message's flags say. */
export function correctedOf(flags: number): Corrected {
  return (flags & FROM_MILLISECONDS) !== 0 ? 'milliseconds' : (flags & FROM_MICROSECONDS) !== 0 ? 'microseconds' : null;
}
