import { forgetOldest } from './forget-oldest.js';
import type { Envelope } from './envelope.js';
import { categoryOf } from './envelope.js';
import { PublisherRecency } from './publisher-recency.js';

/** Per-publisher `i` state kept in the snapshot meta (extra fields are optional so older snapshots still load). */
export type Publishers = Record<string, { i: number; ts: number; unreliable?: boolean }>;

/** A window that may hold lost messages. `seq_id` gaps are real holes; `i` gaps are only hints. */
export interface GapSignal {
  readonly start: number;
  readonly end: number;
  readonly missing: number;
  readonly basis: 'seq_id' | 'i';
  readonly source: string;
}

export interface GapCounters {
  /** Jumps in a relay's seq_id: real holes. */
  seqGaps: number;
  /** Messages those jumps skipped: what the relay sent and never reached us (a full queue drops them). */
  seqMissing: number;
  /** seq_id went backwards: the relay restarted (not a gap). */
  relayRestarts: number;
  /** seq_id jumped further than any queue could have dropped (seqJumpBound): a reset, not a gap. */
  seqResets: number;
  /** Jumps in a reliable publisher's `i` that fed a window. */
  iHints: number;
  /** `i` steps ignored because the key is interleaved or erratic. */
  iIgnored: number;
  /** Publisher keys ever marked interleaved/unreliable. */
  iUnreliableMarked: number;
}

/** Publishers remembered; the least recently heard is forgotten first, so hostile input cannot grow it. */
const MAX_PUBLISHERS = 10_000;
/**
 * Longest publisher key, `<username>|<category>`, tracked. The key comes from the envelope and the
 * table goes into every snapshot's meta: 800 messages with 1 MB usernames made it gigabytes, in
 * memory and on disk. A username that long names no real publisher; its messages get no hint.
 */
const MAX_PUBLISHER_KEY = 512;
/** Messages one seq_id jump may say were lost whatever the time between the receptions. */
export const MAX_SEQ_JUMP = 1_000_000;
/** Messages per second between the two receptions a jump may add to MAX_SEQ_JUMP: far past any real bus. */
export const SEQ_JUMP_PER_SECOND = 100_000;

/**
 * The largest hole two receptions `seconds` apart can hold. Past it the counter was not
 * skipped but reset or forged (one message with `seq_id: 2^53-1` added 9e15 to seq_missing and
 * asked the history for a backfill): the relay restarted from another number, or the sender is
 * broken. Treated like a relay restart: counted apart, no window, numbering goes on from there.
 */
export function seqJumpBound(seconds: number): number {
  return MAX_SEQ_JUMP + Math.floor(Math.max(0, seconds) * SEQ_JUMP_PER_SECOND);
}

/** Irregular `i` steps (backwards, or a jump) before a key is treated as interleaved and ignored. */
const STRIKES_UNRELIABLE = 3;
/** Consecutive exact +1 steps that clear strikes and make an ignored key trusted again. */
const CLEAN_RUN_TRUSTED = 200;

/**
 * Notices messages we never received, fitted to how fedmsg actually numbers them:
 *
 * - `seq_id` is assigned by a relay to its whole outgoing stream (fedmsg's persistent store),
 *   so a jump from one source is a real gap; lower than before means the relay restarted.
 *   Tracked per source (the bus endpoint the message came through), never persisted: the
 *   start-up backfill covers whatever happened while we were down.
 * - `i` is per publishing process, but the envelope does not name the process. Under one
 *   (username, category) several processes interleave (Fedora's httpd workers all publish as
 *   `apache`), which looks like endless jumps. So `i` is only a hint: a key whose `i` goes
 *   backwards or jumps repeatedly is marked unreliable and ignored until it counts cleanly
 *   again for a long run; the hints that remain only feed a coalesced, rate-limited window.
 */
export class GapDetector {
  readonly counters: GapCounters = {
    seqGaps: 0,
    seqMissing: 0,
    relayRestarts: 0,
    seqResets: 0,
    iHints: 0,
    iIgnored: 0,
    iUnreliableMarked: 0,
  };
  private readonly publishers = new PublisherRecency();
  private readonly relays = new Map<string, { seq: number; ts: number }>();

  constructor(initial: Publishers = {}) {
    for (const [key, p] of Object.entries(initial)) {
      // A table written before the bounds held may break them: what they would refuse is not kept.
      if (this.publishers.size >= MAX_PUBLISHERS) break;
      if (key.length > MAX_PUBLISHER_KEY || typeof p?.i !== 'number' || typeof p.ts !== 'number') continue;
      this.publishers.addKey(key, p.i, p.ts, p.unreliable === true);
    }
  }

  /**
   * Records the message; returns the window that may hold lost messages, or null. `receivedAt`
   * (epoch seconds, the service's clock) dates a `seq_id` window; it defaults to the message's
   * own timestamp for replays, whose windows nobody fetches. `category`: the topic's
   * (categoryOf), when the message's meta already holds it.
   */
  observe(envelope: Envelope, source = '', receivedAt = envelope.timestamp, category?: string): GapSignal | null {
    const seq = envelope['seq_id'];
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)
      return this.observeSeq(seq, receivedAt, source);
    const i = envelope.i;
    if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 1) return null;
    return this.observeI(i, envelope, source, category ?? categoryOf(envelope.topic));
  }

  /**
   * The lost messages went out between the two we received, so the window runs between those
   * receptions, by our clock. Not by the messages' own timestamps: those come from publishers,
   * and one message dated a month back before a jump asked the history for the whole month,
   * counting again every message the journal no longer held ids for.
   */
  private observeSeq(seq: number, ts: number, source: string): GapSignal | null {
    const last = this.relays.get(source);
    remember(this.relays, source, { seq, ts });
    if (!last) return null;
    if (seq <= last.seq) {
      // A duplicate re-sent, or the relay restarted its counter: not a gap.
      if (seq < last.seq) this.counters.relayRestarts++;
      return null;
    }
    if (seq === last.seq + 1) return null;
    const missing = seq - last.seq - 1;
    if (missing > seqJumpBound(Math.abs(ts - last.ts))) {
      this.counters.seqResets++;
      return null;
    }
    this.counters.seqGaps++;
    this.counters.seqMissing += missing;
    return {
      start: Math.min(last.ts, ts),
      end: Math.max(last.ts, ts),
      missing,
      basis: 'seq_id',
      source,
    };
  }

  private observeI(i: number, envelope: Envelope, source: string, category: string): GapSignal | null {
    const user = typeof envelope.username === 'string' ? envelope.username : '';
    // The key `<username>|<category>`'s length, without joining it.
    if (user.length + 1 + category.length > MAX_PUBLISHER_KEY) return null;
    const state = this.publishers.find(user, category);
    if (!state) {
      this.publishers.add(user, category, i, envelope.timestamp);
      if (this.publishers.size > MAX_PUBLISHERS) this.publishers.forgetOldest();
      return null;
    }
    // Updated in place (one object per publisher, not one per message), then the most recent.
    const lastI = state.i;
    const lastTs = state.ts;
    state.i = i;
    state.ts = envelope.timestamp;
    this.publishers.touch(state);
    if (i === lastI + 1) {
      state.clean++;
      if (state.clean >= CLEAN_RUN_TRUSTED) {
        state.strikes = 0;
        state.unreliable = false;
      }
      return null;
    }
    state.clean = 0;
    if (i === lastI) return null; // a duplicate
    state.strikes++;
    if (!state.unreliable && state.strikes >= STRIKES_UNRELIABLE) {
      state.unreliable = true;
      this.counters.iUnreliableMarked++;
    }
    if (state.unreliable) {
      this.counters.iIgnored++;
      return null;
    }
    // Lower: a restarted publisher, not a gap (but a strike: interleaved publishers look like this).
    // Nor is a jump past any real hole (the seq_id bound): a reset or a forged counter.
    if (i < lastI || i - lastI - 1 > seqJumpBound(Math.abs(envelope.timestamp - lastTs))) return null;
    this.counters.iHints++;
    return {
      start: Math.min(lastTs, envelope.timestamp),
      end: Math.max(lastTs, envelope.timestamp),
      missing: i - lastI - 1,
      basis: 'i',
      source,
    };
  }

  /** Publisher keys currently ignored as interleaved. */
  get unreliableKeys(): number {
    let n = 0;
    for (const [, p] of this.publishers.entries()) if (p.unreliable) n++;
    return n;
  }

  /** A copy for the snapshot meta. */
  table(): Publishers {
    const out: Publishers = {};
    for (const [key, p] of this.publishers.entries())
      out[key] = p.unreliable ? { i: p.i, ts: p.ts, unreliable: true } : { i: p.i, ts: p.ts };
    return out;
  }
}

/** Re-inserted so Map order is recency: the first key is the one heard from longest ago. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PUBLISHERS) forgetOldest(map);
}
