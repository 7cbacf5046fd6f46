import type { Envelope } from './envelope.js';
import { categoryOf } from './envelope.js';

export type Publishers = Record<string, { i: number; ts: number }>;

/**
 * Notices messages we never received: fedmsg publishers number their messages with `i`,
 * so a jump (10, 11, 14) means 12 and 13 were lost. The envelope does not name its
 * publisher; (username, category) is the closest stable proxy, so a false alarm is possible
 * and harmless (backfill de-duplicates), a missed gap is caught by the start-up backfill.
 */
/** Publishers remembered; the least recently heard is forgotten first, so hostile input cannot grow it. */
const MAX_PUBLISHERS = 10_000;

export class GapDetector {
  private readonly publishers: Map<string, { i: number; ts: number }>;

  constructor(initial: Publishers = {}) {
    this.publishers = new Map(Object.entries(initial));
  }

  /** Records the message; returns the time window that may hold lost messages, or null. */
  observe(envelope: Envelope): { start: number; end: number; missing: number } | null {
    const i = envelope.i;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 1) return null;
    const key = `${typeof envelope.username === 'string' ? envelope.username : ''}|${categoryOf(envelope.topic)}`;
    const last = this.publishers.get(key);
    // Re-inserted so Map order is recency: the first key is the one heard from longest ago.
    this.publishers.delete(key);
    this.publishers.set(key, { i, ts: envelope.timestamp });
    if (this.publishers.size > MAX_PUBLISHERS) {
      const oldest = this.publishers.keys().next().value;
      if (oldest !== undefined) this.publishers.delete(oldest);
    }
    // A lower or equal i is a restarted publisher (or a duplicate), not a gap.
    if (!last || i <= last.i + 1) return null;
    return { start: Math.min(last.ts, envelope.timestamp), end: Math.max(last.ts, envelope.timestamp), missing: i - last.i - 1 };
  }

  /** A copy for the snapshot meta. */
  table(): Publishers {
    return Object.fromEntries(this.publishers);
  }
}
