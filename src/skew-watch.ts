import { SampleWindow } from './sample-window.js';

/**
 * Whether most recent messages are refused as dated ahead of the clock (`future_timestamp`).
 * One such message is a publisher's problem; most of them means this host's clock is behind
 * (or every publisher's ahead), and intake has all but stopped while every health check said
 * ready. Read from the intake's own counters when readiness is asked (sample-window.ts), so
 * nothing is added to the per-message path.
 *
 * A quiet bus (a few messages a minute, or `--topic` keeping only a few topics) never refuses
 * SKEW_MIN_REFUSED in one window, so intake could stop there for good with /readyz plain. So,
 * besides the window: SKEW_MIN_REFUSED refusals with no message taken in since the last one
 * was, however long that took, degrade too; the next message taken in ends it.
 */

const SAMPLE_SECONDS = 10;
const WINDOW_SECONDS = 60;
/** Refusals in the window below which no conclusion is drawn (a handful of odd publishers). */
export const SKEW_MIN_REFUSED = 20;
/** Share of the window's messages refused as future_timestamp that degrades the instance. */
export const SKEW_SHARE = 0.5;

export interface SkewCounts {
  /** Messages taken in (accepted and duplicates): they passed the clock's bound. */
  readonly passed: number;
  readonly future: number;
}

interface Sample extends SkewCounts {
  readonly at: number;
}

export class SkewWatch {
  private readonly window = new SampleWindow<SkewCounts>(SAMPLE_SECONDS, WINDOW_SECONDS);
  /** The counts when a message was last seen taken in (or first asked), and when: where a stall starts. */
  private lastPass: Sample | null = null;

  /** The degraded reason, or null; `now` in epoch seconds, `counts` the intake's totals so far. */
  problem(now: number, counts: SkewCounts, maxClockSkew: number): string | null {
    if (this.lastPass === null || counts.passed !== this.lastPass.passed) this.lastPass = { at: now, ...counts };
    return this.inWindow(now, counts, maxClockSkew) ?? this.stalled(now, counts, maxClockSkew);
  }

  /** Nothing taken in since lastPass, and at least SKEW_MIN_REFUSED refused as dated ahead meanwhile. */
  private stalled(now: number, counts: SkewCounts, maxClockSkew: number): string | null {
    const since = this.lastPass as Sample;
    const future = counts.future - since.future;
    if (future < SKEW_MIN_REFUSED) return null;
    const seconds = Math.round(now - since.at);
    return (
      `every message refused as dated ahead of this host's clock (future_timestamp): ${future}, none taken in` +
      `${seconds > 0 ? ` for ${seconds} s` : ''}; is this host's clock behind? (--max-clock-skew ${maxClockSkew} s)`
    );
  }

  private inWindow(now: number, counts: SkewCounts, maxClockSkew: number): string | null {
    const { at, counts: base } = this.window.baseline(now, counts);
    const future = counts.future - base.future;
    const passed = counts.passed - base.passed;
    if (future < SKEW_MIN_REFUSED || future < SKEW_SHARE * (future + passed)) return null;
    const since = Math.round(now - at);
    return (
      `most messages refused as dated ahead of this host's clock (future_timestamp): ${future} of ${future + passed}` +
      `${since > 0 ? ` in the last ${since} s` : ''}; is this host's clock behind? (--max-clock-skew ${maxClockSkew} s)`
    );
  }
}
