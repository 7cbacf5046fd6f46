import type { PluginHost } from '../actors/plugin-host.js';
import type { Journal, JournalEntry } from '../snapshots/journal.js';
import type { Position } from '../snapshots/snapshotter.js';
import { AcceptTimes } from './accept-times.js';
import { ITEM_OVERHEAD_BYTES } from './bus-thread-protocol.js';
import type { DecodeErrorReason, FrameLimits } from './decode-frames.js';
import { GapDetector, type Publishers } from './gap-detector.js';
import { type IntakeCounters, newIntakeCounters } from './intake-counters.js';
import { createPluginMessage, type MetaDeriver } from './message.js';
import type { Route } from './router.js';

export type DecodeFailure = (reason: DecodeErrorReason, detail: string) => void;

export interface IntakeDeps {
  readonly host: PluginHost;
  readonly route: Route;
  readonly journal: Journal;
  readonly deriveMeta: MetaDeriver;
  /** Hand plugins frozen messages (message.ts): on while plugins other than the built-in ones are loaded. */
  readonly freezeMessages: boolean;
  readonly limits: FrameLimits;
  readonly onDecodeFailure: DecodeFailure;
  /**
   * Epoch seconds the clock read when the restored state was written (0: none). Replay judges
   * timestamps against it when the clock now reads earlier: what was accepted then stays.
   */
  readonly replayClockFloor?: number;
  readonly onReplayRejected?: (entry: JournalEntry, detail: string) => void;
  readonly onApplyError?: (entry: JournalEntry, err: unknown) => void;
  /**
   * Bytes of accepted messages not yet committed and applied past which backpressure() holds
   * the bus (--bus-queue-max-bytes; bus-budget.ts). Unset: counted in messages only.
   */
  readonly maxUncommittedBytes?: number;
  /** Whether a topic is subscribed to (subscribed-topics.ts); absent or null: every topic is. */
  readonly subscribed?: ((topic: string) => boolean) | null;
}

/**
 * What a message decoded on the main thread is counted as while it waits for its commit: its
 * frames, the JavaScript objects parsed from them (about as large again), its journal record
 * (about as large once more) and the objects that carry it.
 */
export function decodedBytes(frames: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const f of frames) bytes += f.byteLength;
  return ITEM_OVERHEAD_BYTES + 3 * bytes;
}

/** Accepted entries waiting for their journal commit before the bus loop is paused. */
const MAX_UNCOMMITTED = 20_000;

/**
 * The intake's state and the wait for the journal: an accepted entry is held (counted in
 * messages, and in bytes with maxUncommittedBytes) until its batch commits, then routed and
 * applied. Keeps the position a snapshot records (last applied seq, newest timestamp, publisher
 * sequences). Intake (intake.ts) adds the doors messages come in by; replay in intake-replay.ts.
 */
export class IntakeCommits {
  readonly counters: IntakeCounters = newIntakeCounters();
  /** seq_id / i tracking; its counters are exported by the service. */
  readonly gaps: GapDetector;
  /** Seq of the last entry the plugins have applied: what a snapshot of their state covers. */
  protected appliedSeq: number;
  private newestTaken: number;
  /** Accepted, not yet committed and applied. */
  private uncommitted = 0;
  /** What those are counted as against maxUncommittedBytes, and each one's share, by seq (only with that bound). */
  private uncommittedBytes = 0;
  protected readonly heldBytes: Map<number, number> | null;
  /** Replayed entries routed and not yet applied. */
  protected replayQueued = 0;
  /** Milliseconds from accept to apply (the journal commit), and the batches committed, for /metrics. */
  readonly commitDelay = { count: 0, totalMs: 0, maxMs: 0, batches: 0 };
  private readonly acceptedAt = new AcceptTimes();

  constructor(
    protected readonly deps: IntakeDeps,
    private newest: number,
    publishers: Publishers,
    /**
     * The journal seq the restored state covers: replay applies what follows, and until it has,
     * position() must not claim more. Starting at the journal's end, a stop during start-up
     * replay wrote a final snapshot claiming every entry while holding only those replayed, and
     * the next start replayed nothing: the rest was lost without a word.
     */
    appliedSeq: number,
  ) {
    this.gaps = new GapDetector(publishers);
    this.appliedSeq = appliedSeq;
    this.newestTaken = Math.min(newest, deps.limits.nowSeconds());
    this.heldBytes = Number.isFinite(deps.maxUncommittedBytes ?? Number.POSITIVE_INFINITY) ? new Map() : null;
  }

  /** Newest message timestamp applied (seconds), 0 before any. */
  get newestTimestamp(): number {
    return this.newest;
  }

  /**
   * Newest message time applied, none counted later than when it was applied (seconds, 0
   * before any): what lag-watch.ts judges intake by. One message dated ahead (a publisher's
   * clock, up to --max-clock-skew) made every older one after it look current, hiding "intake
   * is behind" for the skew plus the limit (~7 minutes at the defaults).
   */
  get newestTakenIn(): number {
    return this.newestTaken;
  }

  /** Seq of the newest journaled message applied to the plugins. */
  get appliedSeqNumber(): number {
    return this.appliedSeq;
  }

  position(): Position {
    return {
      journalSeq: this.appliedSeq,
      newestTimestamp: this.newest,
      publishers: this.gaps.table(),
      keyBudget: this.deps.host.keyBudgetRecord(),
    };
  }

  /** `at`: when it was accepted (performance.now()), what the commit delay counts from. */
  protected admitted(entry: JournalEntry | null, bytes: number, at = performance.now()): boolean {
    if (!entry) {
      this.counters.duplicates++;
      return false;
    }
    this.counters.accepted++;
    this.uncommitted++;
    if (this.heldBytes !== null && bytes > 0) {
      this.heldBytes.set(entry.seq, bytes);
      this.uncommittedBytes += bytes;
    }
    this.acceptedAt.push(entry.seq, at);
    return true;
  }

  /** The journal's onCommitted: these entries are durable now, so the plugins may serve them. */
  committed(entries: readonly JournalEntry[]): void {
    const now = performance.now();
    if (entries.length > 0) this.commitDelay.batches++;
    for (const entry of entries) {
      const at = this.acceptedAt.take(entry.seq);
      if (at !== undefined) {
        const ms = now - at;
        this.commitDelay.count++;
        this.commitDelay.totalMs += ms;
        if (ms > this.commitDelay.maxMs) this.commitDelay.maxMs = ms;
      }
      this.uncommitted--;
      const bytes = this.heldBytes?.get(entry.seq);
      if (bytes !== undefined) {
        (this.heldBytes as Map<number, number>).delete(entry.seq);
        this.uncommittedBytes -= bytes;
      }
      try {
        this.apply(entry);
      } catch (err) {
        // Plugins never throw (the runtime catches); this is a bug in routing or the host, and it
        // must cost one message, not the journal's commit chain.
        this.counters.applyErrors++;
        this.deps.onApplyError?.(entry, err);
      }
    }
    const first = entries[0];
    if (first !== undefined) this.applyQueued(first);
  }

  /**
   * Applies the messages routed since the last call (PluginHost.queue): the bus and backfill
   * after each committed batch, replay before it yields and when it is done.
   */
  applyQueued(batchStart?: JournalEntry): void {
    this.replayQueued = 0;
    try {
      this.deps.host.applyQueued();
    } catch (err) {
      // As in committed(): a bug outside plugin code, counted, not allowed to stop the chain.
      this.counters.applyErrors++;
      if (batchStart !== undefined) this.deps.onApplyError?.(batchStart, err);
    }
  }

  /**
   * Settles once everything accepted so far is committed and applied. The bus loop awaits it
   * when too much is waiting (LMDB slower than the bus); backfill awaits it after each page.
   */
  settled(): Promise<void> {
    return this.deps.journal.flush();
  }

  /** Settles once everything accepted so far is committed and applied, with this turn's group commit rather than now. */
  whenCommitted(): Promise<void> {
    return this.deps.journal.whenCommitted();
  }

  /** The data store's DataFilePanicError once its environment failed for good (MDB_PANIC), else null. */
  get failedForGood(): Error | null {
    return this.deps.journal.failedForGood;
  }

  /** False while some accepted message is in no journal record on disk (failed commits: journal-backlog.ts). */
  get durable(): boolean {
    return this.deps.journal.backlog.status() === null;
  }

  /** A promise to pause the bus on when the commit queue is long, else undefined. */
  backpressure(): Promise<void> | undefined {
    return this.uncommitted > MAX_UNCOMMITTED ||
      this.uncommittedBytes > (this.deps.maxUncommittedBytes ?? Number.POSITIVE_INFINITY)
      ? this.settled()
      : undefined;
  }

  /** Bytes of accepted messages waiting for their commit, as counted against maxUncommittedBytes (0 without it). */
  get heldUncommittedBytes(): number {
    return this.uncommittedBytes;
  }

  protected apply(entry: JournalEntry): void {
    const { envelope } = entry;
    if (entry.seq > this.appliedSeq) this.appliedSeq = entry.seq;
    if (envelope.timestamp > this.newest) this.newest = envelope.timestamp;
    // The clock is read only for a message newer than any yet: rare once intake falls behind.
    if (envelope.timestamp > this.newestTaken)
      this.newestTaken = Math.min(envelope.timestamp, this.deps.limits.nowSeconds());
    const targets = this.deps.route(envelope.topic);
    if (targets.length > 0)
      this.deps.host.queue(
        createPluginMessage(envelope, this.deps.deriveMeta, entry.meta, this.deps.freezeMessages),
        targets,
        entry.seq,
      );
  }
}
