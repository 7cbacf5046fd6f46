import type { JournalEntry, ShapeBounds } from '../snapshots/journal.js';
import { checkShape, checkTimestamp, INTAKE_ADDED_MEMBERS } from './envelope-limits.js';
import { IntakeCommits } from './intake-commits.js';
import { createPluginMessage } from './message.js';

/** Replayed entries routed before they are applied, plugin by plugin (PluginHost.queue). */
const REPLAY_BATCH = 1024;

/**
 * Start-up's doors into the plugins: the journal replayed after the restored state, the catch-up
 * of plugins behind it, and the entries it holds already; each journaled entry is held to today's
 * bounds first. The live doors are Intake's (intake.ts).
 */
export class IntakeReplay extends IntakeCommits {
  /**
   * The shape bounds replay holds journaled envelopes to (Journal.after reads records for them):
   * the live ones, plus the members intake adds after its check (INTAKE_ADDED_MEMBERS).
   */
  get shapeBounds(): ShapeBounds {
    const { maxDepth, maxKeys } = this.deps.limits;
    return { maxDepth, maxKeys: maxKeys + INTAKE_ADDED_MEMBERS };
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

  /** shapeBounds, made once: admissible() reads them for every entry. */
  private bounds: ShapeBounds | null = null;
  /**
   * The clock as replay last read it (epoch seconds; NaN: read it again), with its floor. One
   * reading serves the entries of a batch up to applyQueued(): an entry dated within the skew
   * of it is within the skew of any later reading; one that is not reads the clock again.
   */
  private replayClock = Number.NaN;

  override applyQueued(batchStart?: JournalEntry): void {
    this.replayClock = Number.NaN;
    super.applyQueued(batchStart);
  }

  /** The clock replay judges timestamps by: read now, or earlier in this batch (replayClock). */
  private clockForReplay(): number {
    if (Number.isNaN(this.replayClock))
      this.replayClock = Math.max(this.deps.limits.nowSeconds(), this.deps.replayClockFloor ?? 0);
    return this.replayClock;
  }

  /**
   * The entry as replay applies it (its timestamp corrected as when it was accepted), or null:
   * entries an older version journaled without today's bounds are refused, counted and reported.
   */
  private admissible(entry: JournalEntry): JournalEntry | null {
    const { limits } = this.deps;
    const bounds = (this.bounds ??= this.shapeBounds);
    const envelope = entry.envelope;
    const proved = entry.withinShape;
    // Bounds its stored bytes were read for (Journal.after), if no looser than today's, settle it.
    const shape =
      proved !== undefined && proved.maxDepth <= bounds.maxDepth && proved.maxKeys <= bounds.maxKeys
        ? null
        : checkShape(envelope, bounds.maxDepth, bounds.maxKeys);
    // Nearly every entry: in seconds (no unit to correct) and within the skew of the batch's
    // reading, as checkTimestamp() would find it, without its verdict object.
    const ts = envelope.timestamp;
    if (shape === null && ts < 1e11 && ts <= this.clockForReplay() + limits.maxClockSkew) return entry;
    this.replayClock = Number.NaN;
    const clock = this.clockForReplay();
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
}
