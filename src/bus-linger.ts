/**
 * How long the bus thread lets a batch gather before handing it over (bus-worker.ts).
 *
 * Every batch costs the main thread a fixed ~0.5 ms (the hand-over, a journal commit, each
 * plugin's code brought back into cache), so at a trickle small batches are most of what the
 * service costs. What bounds batches is freshness: a WebSocket client sees a message at the
 * first push tick after it was applied. Push ticks fall on multiples of the tick of the wall
 * clock (`Clock.aligned`), which this thread reads too, so a batch may gather until just
 * before the next tick (its cut) and still be pushed on that tick: to a live client that
 * linger costs nothing. The linger setting then bounds what only an HTTP reader sees.
 */

/**
 * Time left between a cut and its tick for the main thread's part: the journal commit and the
 * apply of a batch (a few ms at a trickle; 4 ms let a tenth of the cut batches miss their tick
 * here, which put the push p99 ten milliseconds up).
 */
export const CUT_MARGIN_MS = 10;

/**
 * The wait of a batch opened after the cut: short, as with no alignment, so that it still
 * makes the tick when the main thread is quick, instead of surely waiting for the next cut.
 */
export const AFTER_CUT_WAIT_MS = 2;

/**
 * Milliseconds the batch opened at `nowMs` (epoch ms) may wait: at most `lingerMs`, and never
 * past the cut before the next push tick (`tickMs` from the cut on: AFTER_CUT_WAIT_MS).
 * `tickMs` 0 (no push cadence to keep to): just `lingerMs`.
 */
export function lingerWait(nowMs: number, lingerMs: number, tickMs: number): number {
  if (tickMs <= 0 || lingerMs <= 0) return lingerMs;
  // A short tick keeps three quarters of itself for gathering.
  const cut = tickMs - Math.min(CUT_MARGIN_MS, tickMs / 4);
  const phase = nowMs % tickMs;
  return Math.min(lingerMs, phase < cut ? cut - phase : AFTER_CUT_WAIT_MS);
}
