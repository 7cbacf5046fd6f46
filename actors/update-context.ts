import type { Row, RowStore } from './row-store.js';

/** What a plugin's update() is given with each message: one object per runtime, reused; only `bucket` changes. */
export interface RuntimeUpdateContext {
  rows: RowStore<Row>;
  stores: Record<string, unknown>;
  bucket: number;
  interval: number | null;
}

/**
 * The update context of a runtime whose plugin has `interval` (null: none).
 *
 * Without an interval the bucket is the message's own timestamp, a fraction, so V8 stores that
 * object's `bucket` as a boxed double; had every runtime's context the same hidden class, every
 * one's `bucket` would be boxed, and with it the `timestamp` of every row a bucketed plugin
 * builds from it (V8 tracks a field's representation per hidden class): a 16-byte HeapNumber more
 * per row made, ~4 per message surviving into the old generation with the rows, for the
 * scavenges to copy and the markers to visit. So the two kinds get their members in a different
 * order, hence different hidden classes, and whole-second buckets stay small integers.
 */
export function contextFor(
  rows: RowStore<Row>,
  stores: Record<string, unknown>,
  interval: number | null,
): RuntimeUpdateContext {
  if (interval === null) return { rows, stores, interval, bucket: 0 };
  return { rows, stores, bucket: 0, interval };
}
