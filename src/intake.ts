import type { ThreadMessage } from './bus-thread.js';
import { ITEM_OVERHEAD_BYTES } from './bus-thread-protocol.js';
import { decodeFrames, type FrameLimits } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { aheadOfClock } from './envelope-limits.js';
import type { GapSignal } from './gap-detector.js';
import { decodedBytes } from './intake-commits.js';
import { IntakeReplay } from './intake-replay.js';

export { type DecodeFailure, decodedBytes, type IntakeDeps } from './intake-commits.js';
export type { IntakeCounters } from './intake-counters.js';

/**
 * The one path every message takes into the plugins, whichever door it came through (bus,
 * journal replay, backfill): decode, de-duplicate and journal, then route and apply once the
 * journal batch has committed, so a count served over HTTP is never taken back by a crash.
 * Keeps the position a snapshot records (last applied seq, newest timestamp, publisher sequences).
 * Built in layers: intake-commits.ts (the state and the wait for the commit), intake-replay.ts
 * (start-up's replay and catch-up), and here the live doors and backfill's.
 */
export class Intake extends IntakeReplay {
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
   * encoded there; the clock's bound is judged here, with the service's clock. A `clock` one
   * (no timestamp, and the thread could not read the service's clock) is decoded here.
   * `now` (the service's clock, epoch seconds) and `at` (performance.now(), what the commit
   * delay counts from) may be read once for the messages of a batch taken in one go: they are
   * microseconds apart, against a clock bound of seconds and a delay of milliseconds.
   */
  fromThread(
    message: ThreadMessage,
    now = this.deps.limits.nowSeconds(),
    at: number = performance.now(),
  ): GapSignal | null {
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
    // Filled in by the thread from the clock (it had none): not judged against it again, as a timestamp
    // filled on this thread never is (a wall clock stepped back since must not refuse it).
    if (message.filled) this.counters.filledTimestamps++;
    else if (this.refusedAhead(message, now)) return null;
    if (message.corrected) this.counters.correctedTimestamps++;
    // The thread's meta holds the topic's category: not found in the topic again.
    const gap = this.gaps.observe(envelope, message.source, now, message.meta.category);
    const entry = this.deps.journal.acceptEncoded(message.id, envelope, message.record, message.meta);
    // Taken in only: a duplicate is never applied, so the main thread's own decode (which counts
    // when a plugin first reads the meta) never counts one either.
    if (message.truncated && entry) this.counters.fanoutTruncated++;
    // The record (the body is decoded from it only when applied) and the head's objects.
    this.admitted(entry, ITEM_OVERHEAD_BYTES + message.record.byteLength, at);
    if (gap) this.counters.gaps++;
    return gap;
  }

  /** The service's clock (epoch seconds): what a batch's messages are judged and dated by (fromThread). */
  nowSeconds(): number {
    return this.deps.limits.nowSeconds();
  }

  /** True (counted and reported) when the message's timestamp is further ahead of the clock than the skew allows. */
  private refusedAhead(message: ThreadMessage & { kind: 'ready' }, now: number): boolean {
    const detail = preparedAhead(message, this.deps.limits, now);
    if (detail === null) return false;
    this.counters.decodeErrors.future_timestamp++;
    this.deps.onDecodeFailure('future_timestamp', detail);
    return true;
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
   * One message a thread prepared (the AMQP prepare thread: amqp-prepare-thread.ts), its
   * timestamp already judged against the clock: journaled from its record as accept() journals
   * the envelope. False for a duplicate. The fan-out cut is counted as deriving its meta here
   * would have counted it, when the message is taken (core.ts).
   */
  acceptPrepared(
    message: Pick<ThreadMessage & { kind: 'ready' }, 'id' | 'envelope' | 'record' | 'meta' | 'truncated'>,
    bytes = 0,
  ): boolean {
    const entry = this.deps.journal.acceptEncoded(message.id, message.envelope, message.record, message.meta);
    if (entry && message.truncated) this.counters.fanoutTruncated++;
    return this.admitted(entry, bytes);
  }

  /**
   * De-duplicates and journals one envelope; it is applied once its batch commits. False for a
   * duplicate. `bytes`: what it is counted as until then against maxUncommittedBytes (a live
   * message's decodedBytes(); backfill's pages are bounded by their own reads).
   */
  accept(envelope: Envelope, bytes = 0): boolean {
    return this.admitted(this.deps.journal.accept(envelope), bytes);
  }
}

/**
 * Why a message a thread prepared is refused by the clock (its timestamp further ahead than the
 * skew allows), or null. Only the main thread has the service's clock; a timestamp the thread
 * filled in from it is not judged again.
 */
export function preparedAhead(
  message: Pick<ThreadMessage & { kind: 'ready' }, 'envelope' | 'corrected' | 'filled'>,
  limits: Pick<FrameLimits, 'nowSeconds' | 'maxClockSkew'>,
  /** The clock already read for this message's batch (epoch seconds); read here when absent. */
  now?: number,
): string | null {
  if (message.filled) return null;
  const ts = message.envelope.timestamp;
  // The value as sent, to a double's precision (the thread converted it): the seconds logged
  // as sent named 1.8e18 "timestamp 1800000000000 (read as microseconds)", no unit rule's reading.
  const sent = message.corrected === null ? ts : ts * (message.corrected === 'microseconds' ? 1e6 : 1e3);
  return aheadOfClock(ts, sent, message.corrected, now ?? limits.nowSeconds(), limits.maxClockSkew);
}
