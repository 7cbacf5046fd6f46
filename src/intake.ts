import type { PluginHost } from '../actors/plugin-host.js';
import type { Journal, JournalEntry, ShapeBounds } from '../snapshots/journal.js';
import type { Position } from '../snapshots/snapshotter.js';
import { DECODE_ERROR_REASONS, decodeFrames, type DecodeErrorReason, type FrameLimits } from './decode-frames.js';
import type { ThreadMessage } from './bus-thread.js';
import { ITEM_OVERHEAD_BYTES } from './bus-thread-protocol.js';
import type { Envelope } from './envelope.js';
import { aheadOfClock, checkShape, checkTimestamp, INTAKE_ADDED_MEMBERS } from './envelope-limits.js';
import { GapDetector, type GapSignal, type Publishers } from './gap-detector.js';
import { createPluginMessage, type MetaDeriver } from './message.js';
import type { Route } from './router.js';

export interface IntakeCounters {
  frames: number;
  accepted: number;
  duplicates: number;
  filledTimestamps: number;
  /** Timestamps read as milliseconds or microseconds and converted (README, "Time"). */
  correctedTimestamps: number;
  decodeErrors: Record<DecodeErrorReason, number>;
  backfilled: number;
  backfillInvalid: number;
  /**
   * History messages dated at or before the journal's trimmed part (Journal.trimmedThrough, which
   * an import or bootstrap moves to the imported state's journal tail): they may have been counted
   * already and the journal holds no id of theirs to tell, so they are not taken in.
   */
  backfillBeforeJournal: number;
  /** Backfilled messages of topics the service does not subscribe to, skipped. */
  backfillUnsubscribed: number;
  backfillRetries: number;
  /** Backfill windows whose paging ended early: empty, short or repeated pages, or MAX_BACKFILL_PAGES. */
  backfillCutShort: number;
  gaps: number;
  replayed: number;
  /**
   * Journaled entries applied at start-up to plugins behind the restored state only (loaded again
   * after runs without them, or new to the data dir: catch-up.ts).
   */
  caughtUp: number;
  /** Journaled entries refused on replay (written by an older version without today's bounds). */
  replayRejected: number;
  journalWriteErrors: number;
  /** Messages whose usernames or packages were cut to --max-fanout. */
  fanoutTruncated: number;
  /** Committed entries that failed to apply (a bug, never plugin code: that is caught per plugin). */
  applyErrors: number;
}

export type DecodeFailure = (reason: DecodeErrorReason, detail: string) => void;

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
/** Replayed entries routed before they are applied, plugin by plugin (PluginHost.queue). */
const REPLAY_BATCH = 1024;

/**
 * The one path every message takes into the plugins, whichever door it came through (bus,
 * journal replay, backfill): decode, de-duplicate and journal, then route and apply once the
 * journal batch has committed, so a count served over HTTP is never taken back by a crash.
 * Keeps the position a snapshot records (last applied seq, newest timestamp, publisher sequences).
 */
export class Intake {
  readonly counters: IntakeCounters = {
    frames: 0,
    accepted: 0,
    duplicates: 0,
    filledTimestamps: 0,
    correctedTimestamps: 0,
    decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number>,
    backfilled: 0,
    backfillInvalid: 0,
    backfillBeforeJournal: 0,
    backfillUnsubscribed: 0,
    backfillRetries: 0,
    backfillCutShort: 0,
    gaps: 0,
    replayed: 0,
    caughtUp: 0,
    replayRejected: 0,
    journalWriteErrors: 0,
    fanoutTruncated: 0,
    applyErrors: 0,
  };
  /** seq_id / i tracking; its counters are exported by the service. */
  readonly gaps: GapDetector;
  /** Seq of the last entry the plugins have applied: what a snapshot of their state covers. */
  private appliedSeq: number;
  private newestTaken: number;
  /** Accepted, not yet committed and applied. */
  private uncommitted = 0;
  /** What those are counted as against maxUncommittedBytes, and each one's share, by seq (only with that bound). */
  private uncommittedBytes = 0;
  private readonly heldBytes: Map<number, number> | null;
  /** Replayed entries routed and not yet applied. */
  private replayQueued = 0;
  /** Milliseconds from accept to apply (the journal commit), and the batches committed, for /metrics. */
  readonly commitDelay = { count: 0, totalMs: 0, maxMs: 0, batches: 0 };
  private readonly acceptedAt = new Map<number, number>();

  constructor(
    private readonly deps: {
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
    },
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

  /**
   * The shape bounds replay holds journaled envelopes to (Journal.after reads records for them):
   * the live ones, plus the members intake adds after its check (INTAKE_ADDED_MEMBERS).
   */
  get shapeBounds(): ShapeBounds {
    const { maxDepth, maxKeys } = this.deps.limits;
    return { maxDepth, maxKeys: maxKeys + INTAKE_ADDED_MEMBERS };
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

  /** One live bus message from `source` (its endpoint). Returns the window a sequence jump says was lost, if any. */
  fromBus(frames: readonly Uint8Array[], source = ''): GapSignal | null {
    this.counters.frames++;
    const result = decodeFrames(frames, this.deps.limits);
    if (!result.ok) {
      this.counters.decodeErrors[result.reason]++;
      this.deps.onDecodeFailure(result.reason, result.detail);
      return null;
    }
    if (!this.subscribes(result.envelope.topic)) {
      this.unsubscribed(result.envelope.topic);
      return null;
    }
    if (result.filledTimestamp) this.counters.filledTimestamps++;
    if (result.correctedTimestamp) this.counters.correctedTimestamps++;
    const gap = this.gaps.observe(result.envelope, source, this.deps.limits.nowSeconds());
    this.accept(result.envelope, this.heldBytes === null ? 0 : decodedBytes(frames));
    if (gap) this.counters.gaps++;
    return gap;
  }

  /**
   * One live bus message the bus thread has prepared (bus-thread.ts): decoded, bounded and
   * encoded there; the clock's bound is judged here, with the service's clock.
   */
  fromThread(message: ThreadMessage): GapSignal | null {
    if (message.kind === 'clock') return this.fromBus(message.frames, message.source);
    this.counters.frames++;
    if (message.kind === 'rejected') {
      this.counters.decodeErrors[message.reason]++;
      this.deps.onDecodeFailure(message.reason, message.detail);
      return null;
    }
    const { envelope } = message;
    if (!this.subscribes(envelope.topic)) {
      this.unsubscribed(envelope.topic);
      return null;
    }
    const { nowSeconds, maxClockSkew } = this.deps.limits;
    const ts = envelope.timestamp;
    const detail = aheadOfClock(ts, ts, message.corrected, nowSeconds(), maxClockSkew);
    if (detail !== null) {
      this.counters.decodeErrors.future_timestamp++;
      this.deps.onDecodeFailure('future_timestamp', detail);
      return null;
    }
    if (message.corrected) this.counters.correctedTimestamps++;
    const gap = this.gaps.observe(envelope, message.source, nowSeconds());
    if (message.truncated) this.counters.fanoutTruncated++;
    const entry = this.deps.journal.acceptEncoded(message.id, envelope, message.record, message.meta);
    // The record (the body is decoded from it only when applied) and the head's objects.
    this.admitted(entry, ITEM_OVERHEAD_BYTES + message.record.byteLength);
    if (gap) this.counters.gaps++;
    return gap;
  }

  /**
   * Whether statistics take a message of this topic: the bus's filter saw only its first frame
   * (or routing key), and a history serves every topic.
   */
  subscribes(topic: string): boolean {
    return this.deps.subscribed?.(topic) ?? true;
  }

  /** A live message whose envelope names a topic outside the subscription, though its first frame matched. */
  private unsubscribed(topic: string): void {
    this.counters.decodeErrors.bad_topic++;
    this.deps.onDecodeFailure(
      'bad_topic',
      `the envelope's topic ${JSON.stringify(topic)} is outside every subscribed --topic prefix`,
    );
  }

  /**
   * De-duplicates and journals one envelope; it is applied once its batch commits. False for a
   * duplicate. `bytes`: what it is counted as until then against maxUncommittedBytes (a live
   * message's decodedBytes(); backfill's pages are bounded by their own reads).
   */
  accept(envelope: Envelope, bytes = 0): boolean {
    return this.admitted(this.deps.journal.accept(envelope), bytes);
  }

  private admitted(entry: JournalEntry | null, bytes: number): boolean {
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
    this.acceptedAt.set(entry.seq, performance.now());
    return true;
  }

  /** The journal's onCommitted: these entries are durable now, so the plugins may serve them. */
  committed(entries: readonly JournalEntry[]): void {
    const now = performance.now();
    if (entries.length > 0) this.commitDelay.batches++;
    for (const entry of entries) {
      const at = this.acceptedAt.get(entry.seq);
      if (at !== undefined) {
        this.acceptedAt.delete(entry.seq);
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

  /**
   * A journaled message applied again at start-up (already de-duplicated when it was accepted).
   * Entries an older version journaled without today's bounds are refused here, counted and
   * reported, so one stored hostile message cannot stall every restart or move a watermark.
   */
  replay(entry: JournalEntry): void {
    const admitted = this.admissible(entry);
    if (admitted === null) {
      this.appliedSeq = entry.seq;
      return;
    }
    this.counters.replayed++;
    this.gaps.observe(entry.envelope);
    this.apply(admitted);
    // Bounded: the caller also calls applyQueued() before it yields and when it is done.
    if (++this.replayQueued >= REPLAY_BATCH) this.applyQueued();
  }

  /**
   * A journaled entry the restored state holds for every plugin but those `behind` accepts (by
   * index: plugins loaded again after runs without them, or new to the data dir; catch-up.ts):
   * applied to those only. The position, the watermark and the publishers' sequences are the
   * restored state's already, so nothing else moves. Returns the plugins it went to: none when
   * today's bounds refuse it, as replay() would.
   */
  catchUp(entry: JournalEntry, behind: (index: number) => boolean): readonly number[] {
    const admitted = this.admissible(entry);
    if (admitted === null) return [];
    const targets = this.deps.route(admitted.envelope.topic).filter(behind);
    this.counters.caughtUp++;
    if (targets.length > 0)
      this.deps.host.queue(
        createPluginMessage(admitted.envelope, this.deps.deriveMeta, admitted.meta, this.deps.freezeMessages),
        targets,
        admitted.seq,
      );
    if (++this.replayQueued >= REPLAY_BATCH) this.applyQueued();
    return targets;
  }

  /**
   * The entry as replay applies it (its timestamp corrected as when it was accepted), or null:
   * entries an older version journaled without today's bounds are refused, counted and reported.
   */
  private admissible(entry: JournalEntry): JournalEntry | null {
    const { limits } = this.deps;
    const bounds = this.shapeBounds;
    const envelope = entry.envelope;
    const proved = entry.withinShape;
    // Bounds its stored bytes were read for (Journal.after), if no looser than today's, settle it.
    const shape =
      proved !== undefined && proved.maxDepth <= bounds.maxDepth && proved.maxKeys <= bounds.maxKeys
        ? null
        : checkShape(envelope, bounds.maxDepth, bounds.maxKeys);
    const clock = Math.max(limits.nowSeconds(), this.deps.replayClockFloor ?? 0);
    const time = shape ? null : checkTimestamp(envelope.timestamp, clock, limits.maxClockSkew);
    if (shape || (time && !time.ok)) {
      this.counters.replayRejected++;
      this.deps.onReplayRejected?.(entry, shape ? shape.detail : time && !time.ok ? time.detail : '');
      return null;
    }
    return time?.ok && time.corrected ? { ...entry, envelope: { ...envelope, timestamp: time.seconds } } : entry;
  }

  /**
   * A journaled entry the restored state holds already (SnapshotMeta.replaySkip): not applied,
   * but covered, so the next snapshot's journalSeq passes it and no later replay applies it.
   */
  replayHeld(entry: JournalEntry): void {
    if (entry.seq > this.appliedSeq) this.appliedSeq = entry.seq;
  }

  private apply(entry: JournalEntry): void {
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
