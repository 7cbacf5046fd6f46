import { SampleWindow } from './sample-window.js';

/**
 * Whether intake has fallen behind the bus: live messages keep coming in, but the newest of
 * them is dated long before now. A publisher offering more than the plugins apply queues the
 * rest in libzmq (up to --bus-queue-max per connection; it was unbounded, as fedmsg's is) or at
 * the broker: a flood of 30 k msg/s against ~5 k applied grew the process from 334 MB to 1.17 GB
 * in 30 s while both probes said ok, and what dashboards showed fell further behind every
 * second. Read from the intake's counters when readiness is asked (sample-window.ts), so
 * nothing is added per message.
 * A quiet bus is not behind (nothing came in), nor is a backfill (its messages are not live).
 */

const SAMPLE_SECONDS = 5;
const WINDOW_SECONDS = 30;
/** Live messages in the window below which no conclusion is drawn. */
export const LAG_MIN_MESSAGES = 100;
/** How far the newest live message may be dated behind the clock before intake is said to be behind. */
export const LAG_LIMIT_SECONDS = 120;

export interface LagCounts {
  /** Live messages taken in so far (bus and AMQP; backfilled ones are not live). */
  readonly live: number;
  /** Epoch seconds of the newest message taken in. */
  readonly newest: number;
}

export class LagWatch {
  private readonly window = new SampleWindow<number>(SAMPLE_SECONDS, WINDOW_SECONDS);

  /** Seconds the newest live message is dated behind `now` while live messages flow, else 0. */
  lag(now: number, counts: LagCounts): number {
    const { at, counts: base } = this.window.baseline(now, counts.live);
    // Samples are taken only when readiness is asked. Asked again after a long silence, the
    // messages counted since may all have come long ago (a burst, then a quiet bus): they do not
    // "keep coming", and their age says nothing of intake. A quiet hour after 150 messages read
    // as an hour behind, on /readyz, /healthz and statscache_degraded, at the first ask. The
    // next ask, within the limit, concludes.
    if (now - at > LAG_LIMIT_SECONDS) return 0;
    if (counts.live - base < LAG_MIN_MESSAGES || counts.newest <= 0) return 0;
    return Math.max(0, now - counts.newest);
  }

  /** The degraded reason, or null. */
  problem(now: number, counts: LagCounts): string | null {
    const lag = this.lag(now, counts);
    if (lag <= LAG_LIMIT_SECONDS) return null;
    return (
      `intake is behind the bus: the newest live message taken in is dated ${Math.round(lag)} s ago while messages ` +
      `keep coming; they queue in memory (a publisher faster than the plugins apply, or publishers' clocks behind)`
    );
  }
}
