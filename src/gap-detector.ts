import type { Envelope } from './envelope.js';
import { categoryOf } from './envelope.js';

export type Publishers = Record<string, { i: number; ts: number }>;

/**
 * Notices messages we never received: fedmsg publishers number their messages with `i`,
 * so a jump (10, 11, 14) means 12 and 13 were lost. The envelope does not name its
 * publisher; (username, category) is the closest stable proxy, so a false alarm is possible
 * and harmless (backfill de-duplicates), a missed gap is caught by the start-up backfill.
 */
export class GapDetector {
  constructor(private readonly publishers: Publishers = {}) {}

  /** Records the message; returns the time window that may hold lost messages, or null. */
  observe(envelope: Envelope): { start: number; end: number; missing: number } | null {
    const i = envelope.i;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 1) return null;
    const key = `${typeof envelope.username === 'string' ? envelope.username : ''}|${categoryOf(envelope.topic)}`;
    const last = this.publishers[key];
    this.publishers[key] = { i, ts: envelope.timestamp };
    // A lower or equal i is a restarted publisher (or a duplicate), not a gap.
    if (!last || i <= last.i + 1) return null;
    return { start: Math.min(last.ts, envelope.timestamp), end: Math.max(last.ts, envelope.timestamp), missing: i - last.i - 1 };
  }

  /** A copy for the snapshot meta. */
  table(): Publishers {
    return { ...this.publishers };
  }
}
