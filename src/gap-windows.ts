import type { BackfillWindow } from './backfill.js';

/** At most this many separate windows are fetched per gap backfill; closer ones are merged beyond it. */
export const MAX_WINDOWS_PER_FILL = 4;

/**
 * The union of pending windows as few disjoint windows, oldest first: overlapping or touching
 * ones are merged, and while more than `max` remain the two with the smallest gap between
 * them are joined (fetching a little extra beats one history request per suspicion).
 */
export function coalesce(windows: readonly BackfillWindow[], max = MAX_WINDOWS_PER_FILL): BackfillWindow[] {
  const sorted = windows
    .filter((w) => Number.isFinite(w.start) && Number.isFinite(w.end) && w.end >= w.start)
    .sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const w of sorted) {
    const last = merged[merged.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else merged.push({ start: w.start, end: w.end });
  }
  while (merged.length > Math.max(1, max)) {
    let best = 0;
    for (let k = 1; k < merged.length - 1; k++) {
      if (merged[k + 1]!.start - merged[k]!.end < merged[best + 1]!.start - merged[best]!.end) best = k;
    }
    const a = merged[best]!;
    const b = merged[best + 1]!;
    merged.splice(best, 2, { start: a.start, end: Math.max(a.end, b.end) });
  }
  return merged;
}

/** Queued windows past which a queue is coalesced as it grows: a slow history meets a steady stream of them. */
const MAX_QUEUED_WINDOWS = 64;

/** `queue` with `window` added, coalesced once it holds more than MAX_QUEUED_WINDOWS. */
export function enqueueWindow(queue: BackfillWindow[], window: BackfillWindow): BackfillWindow[] {
  queue.push(window);
  return queue.length > MAX_QUEUED_WINDOWS ? coalesce(queue) : queue;
}
