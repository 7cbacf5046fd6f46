import type { PluginHost } from '../actors/plugin-host.js';
import type { Journal, JournalEntry } from '../snapshots/journal.js';
import type { Position } from '../snapshots/snapshotter.js';
import { DECODE_ERROR_REASONS, decodeFrames, type DecodeErrorReason } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { GapDetector, type GapSignal, type Publishers } from './gap-detector.js';
import { createPluginMessage, type MetaDeriver } from './message.js';
import type { Route } from './router.js';

export interface IntakeCounters {
  frames: number;
  accepted: number;
  duplicates: number;
  filledTimestamps: number;
  decodeErrors: Record<DecodeErrorReason, number>;
  backfilled: number;
  backfillInvalid: number;
  backfillRetries: number;
  gaps: number;
  replayed: number;
  journalWriteErrors: number;
}

export type DecodeFailure = (reason: DecodeErrorReason, detail: string) => void;

/**
 * The one path every message takes into the plugins, whichever door it came through (bus,
 * journal replay, backfill): decode, de-duplicate and journal, then route and apply. Keeps
 * the position a snapshot records (journal seq, newest timestamp, publisher sequences).
 */
export class Intake {
  readonly counters: IntakeCounters = {
    frames: 0, accepted: 0, duplicates: 0, filledTimestamps: 0,
    decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number>,
    backfilled: 0, backfillInvalid: 0, backfillRetries: 0, gaps: 0, replayed: 0, journalWriteErrors: 0,
  };
  /** seq_id / i tracking; its counters are exported by the service. */
  readonly gaps: GapDetector;

  constructor(
    private readonly deps: {
      readonly host: PluginHost;
      readonly route: Route;
      readonly journal: Journal;
      readonly deriveMeta: MetaDeriver;
      readonly maxFrameBytes: number;
      readonly nowSeconds: () => number;
      readonly onDecodeFailure: DecodeFailure;
    },
    private newest: number,
    publishers: Publishers,
  ) {
    this.gaps = new GapDetector(publishers);
  }

  /** Newest message timestamp applied (seconds), 0 before any. */
  get newestTimestamp(): number {
    return this.newest;
  }

  position(): Position {
    return { journalSeq: this.deps.journal.position, newestTimestamp: this.newest, publishers: this.gaps.table() };
  }

  /** One live bus message from `source` (its endpoint). Returns the window a sequence jump says was lost, if any. */
  fromBus(frames: readonly Uint8Array[], source = ''): GapSignal | null {
    this.counters.frames++;
    const result = decodeFrames(frames, this.deps.maxFrameBytes, this.deps.nowSeconds);
    if (!result.ok) {
      this.counters.decodeErrors[result.reason]++;
      this.deps.onDecodeFailure(result.reason, result.detail);
      return null;
    }
    if (result.filledTimestamp) this.counters.filledTimestamps++;
    const gap = this.gaps.observe(result.envelope, source);
    this.accept(result.envelope);
    if (gap) this.counters.gaps++;
    return gap;
  }

  /** De-duplicates, journals and applies one envelope; false for a duplicate. */
  accept(envelope: Envelope): boolean {
    const entry = this.deps.journal.accept(envelope);
    if (!entry) {
      this.counters.duplicates++;
      return false;
    }
    this.counters.accepted++;
    this.apply(entry.envelope);
    return true;
  }

  /** A journaled message applied again at start-up (already de-duplicated when it was accepted). */
  replay(entry: JournalEntry): void {
    this.counters.replayed++;
    this.gaps.observe(entry.envelope);
    this.apply(entry.envelope);
  }

  private apply(envelope: Envelope): void {
    if (envelope.timestamp > this.newest) this.newest = envelope.timestamp;
    const targets = this.deps.route(envelope.topic);
    if (targets.length > 0) this.deps.host.dispatch(createPluginMessage(envelope, this.deps.deriveMeta), targets);
  }
}
