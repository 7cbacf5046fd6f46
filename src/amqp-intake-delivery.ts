/**
 * One AMQP delivery into the intake, for AmqpInputs (amqp-inputs.ts): decoded, refused or held
 * back, journaled, and settled once its journal batch committed.
 */
import { DataFilePanicError } from '../snapshots/store-write-errors.js';
import { refusalDigest } from './amqp-refusals.js';
import type { AmqpInputsDeps } from './amqp-inputs-deps.js';
import type { Tally } from './amqp-input-report.js';
import type { Turn } from './amqp-delivery-order.js';
import { decodeDelivery, type Delivery, oversizedDelivery } from './amqp-message.js';
import type { OffThread } from './amqp-prepare-answer.js';
import type { AmqpPrepareThread } from './amqp-prepare-thread.js';
import type { DecodeErrorReason } from './decode-frames.js';
import { decodedBytes, preparedAhead } from './intake.js';

/** `wait`, or a rejection once `signal` aborts; the listener goes when either settles. */
function unlessAborted(wait: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = () => reject(new Error('its connection was lost: the broker delivers it again'));
    if (signal.aborted) return fail();
    signal.addEventListener('abort', fail, { once: true });
    wait.then(() => resolve(), reject).finally(() => signal.removeEventListener('abort', fail));
  });
}

/** The last delivery the journal could not store, and which input it came from. */
export interface LastUnjournaled {
  readonly at: number;
  readonly input: string;
  readonly error: string;
}

/** What a delivery reaches beyond its own input: AmqpInputs's parts. */
export interface IntakePath {
  readonly deps: AmqpInputsDeps;
  /** Rejects on close: a delivery still held back is then left unacked (the broker redelivers it). */
  readonly closing: Promise<never>;
  /** A delivery acked that the journal could not store. */
  readonly unjournaled: (last: LastUnjournaled) => void;
  /** Where large deliveries are prepared; null: all on the main thread (--amqp-thread false). */
  readonly thread: AmqpPrepareThread | null;
}

/**
 * A delivery decoded (or prepared on the AMQP prepare thread) and bounded: how it is journaled
 * (`accept`, false for a duplicate), or why it is refused.
 */
export type Taken =
  | { readonly ok: false; readonly reason: DecodeErrorReason; readonly detail: string }
  | {
      readonly ok: true;
      readonly topic: string;
      readonly filled: boolean;
      readonly corrected: boolean;
      readonly accept: (bytes: number) => boolean;
    };

/** Decoded here, on the main thread, as every delivery was before the prepare thread. */
export function takenHere(delivery: Delivery, { intake, limits }: AmqpInputsDeps): Taken {
  const result = decodeDelivery(delivery, limits);
  if (!result.ok) return result;
  const { envelope } = result;
  return {
    ok: true,
    topic: envelope.topic,
    filled: result.filledTimestamp,
    corrected: result.correctedTimestamp !== null,
    accept: (bytes) => intake.accept(envelope, bytes),
  };
}

/**
 * Prepared on the AMQP prepare thread when `thread` takes it (a large body within the size
 * bound), else here. Its timestamp is judged here, against the service's clock.
 */
function taken(delivery: Delivery, deps: AmqpInputsDeps, thread: AmqpPrepareThread | null): Taken | Promise<Taken> {
  if (thread === null || !thread.wants(delivery) || oversizedDelivery(delivery, deps.limits) !== null)
    return takenHere(delivery, deps);
  return thread.prepare(delivery).then((prepared) => takenThere(delivery, deps, prepared));
}

function takenThere(delivery: Delivery, deps: AmqpInputsDeps, prepared: OffThread): Taken {
  if (prepared === null) return takenHere(delivery, deps);
  if (prepared.kind === 'rejected') return { ok: false, reason: prepared.reason, detail: prepared.detail };
  return takenPrepared(deps, prepared);
}

/** A delivery a thread prepared (this AMQP prepare thread, or the AMQP input thread): its timestamp judged here. */
export function takenPrepared(deps: AmqpInputsDeps, prepared: NonNullable<OffThread> & { kind: 'ready' }): Taken {
  const ahead = preparedAhead(prepared, deps.limits);
  if (ahead !== null) return { ok: false, reason: 'future_timestamp', detail: ahead };
  return {
    ok: true,
    topic: prepared.envelope.topic,
    filled: prepared.filled,
    corrected: prepared.corrected !== null,
    accept: (bytes) => deps.intake.acceptPrepared(prepared, bytes),
  };
}

/**
 * Resolves once the delivery may be acked: 'refused' when it was not stored (and never will be).
 * Journaled in delivery order (`order`: the input's); with no earlier delivery still in its turn
 * and a body decoded here, all of it up to the journal happens in this turn of the event loop.
 */
export function deliverToIntake(
  path: IntakePath,
  input: string,
  tally: Tally,
  delivery: Delivery,
  superseded: AbortSignal,
): Promise<'refused' | undefined> {
  return arrivalToIntake(path, input, tally, superseded, {
    routingKey: delivery.routingKey,
    redelivered: delivery.redelivered,
    bytes: () => decodedBytes([delivery.content]),
    digest: (reason) => refusalDigest(delivery, reason),
    taken: () => taken(delivery, path.deps, path.thread),
  });
}

/** A delivery as the intake needs it, wherever it was decoded (here, or on an AMQP thread). */
export interface Arrival {
  readonly routingKey: string;
  readonly redelivered: boolean;
  /** decodedBytes of its content. */
  readonly bytes: () => number;
  /** refusalDigest (amqp-refusals.ts) when refused for `reason`. */
  readonly digest: (reason: DecodeErrorReason) => string;
  readonly taken: () => Taken | Promise<Taken>;
}

export async function arrivalToIntake(
  path: IntakePath,
  input: string,
  tally: Tally,
  superseded: AbortSignal,
  arrival: Arrival,
): Promise<'refused' | undefined> {
  const turn = tally.order.take();
  try {
    return await journaled(path, input, tally, arrival, superseded, turn);
  } finally {
    turn.leave();
  }
}

async function journaled(
  { deps, closing, unjournaled }: IntakePath,
  input: string,
  tally: Tally,
  delivery: Arrival,
  superseded: AbortSignal,
  turn: Turn,
): Promise<'refused' | undefined> {
  // Decoded before the hold: a refused delivery is counted and acked now (AmqpInput acks it
  // ahead of those before it), so neither a held window nor a lost connection brings it back
  // to be counted again; and an oversized body never waits pinned in memory (128 MiB each).
  const decoded = delivery.taken();
  const result = decoded instanceof Promise ? await decoded : decoded;
  const { intake } = deps;
  if (!result.ok) {
    // Acked at once, but an ack is not confirmed: one lost with its connection brings the
    // delivery back, flagged redelivered. Counting it again would say more arrived than did.
    if (!tally.refused.add(delivery.digest(result.reason)) && delivery.redelivered) {
      tally.refusedRedeliveries++;
      return 'refused';
    }
    intake.counters.decodeErrors[result.reason]++;
    tally.decodeErrors[result.reason]++;
    deps.logLimited(`amqp-decode:${result.reason}`, (suppressed) =>
      deps.log.warn(
        { input, reason: result.reason, detail: result.detail, topic: delivery.routingKey.slice(0, 255), suppressed },
        'AMQP delivery skipped (acked, not requeued)',
      ),
    );
    return 'refused';
  }
  // Journaled in delivery order: an earlier delivery may still be on the prepare thread.
  if (turn.after !== null) await turn.after;
  const held = deps.held();
  // Let go when its connection is lost (durable queue): the broker delivers it again, and each
  // reconnect during a long hold would otherwise keep one more copy of the window in memory.
  if (held) await unlessAborted(Promise.race([held, closing]), superseded);
  if (result.filled) intake.counters.filledTimestamps++;
  if (result.corrected) intake.counters.correctedTimestamps++;
  const writeErrors = intake.counters.journalWriteErrors;
  try {
    if (!result.accept(delivery.bytes())) tally.duplicates++;
  } catch (err) {
    // The data file failed for good (MDB_PANIC: its id lookup or its record cannot be made in
    // this process): not this message's fault, and the service is ending to open the file
    // afresh. Left unacked (the rejection drops the connection), the broker delivers it again;
    // acked as unjournaled, it was lost.
    if (err instanceof DataFilePanicError) throw err;
    // It can never be stored, so a redelivery would fail the same way: ack it, count it, say so.
    tally.unjournaled++;
    unjournaled({ at: deps.now(), input, error: String(err).slice(0, 500) });
    deps.logLimited('amqp-unstorable', (suppressed) =>
      deps.log.error(
        { input, topic: result.topic, err: String(err), suppressed },
        'AMQP delivery could not be journaled; acked and dropped',
      ),
    );
    return 'refused';
  } finally {
    // The next delivery may be journaled now; this one's commit is waited for below, side by side.
    turn.leave();
  }
  // A duplicate waits too: its first copy may still be on its way to disk. With the turn's
  // group commit: the deliveries one socket read brought share a batch and an ack.
  await intake.whenCommitted();
  // Held in memory after failed commits is not on disk: a durable queue keeps it until it is.
  // A server-named queue cannot: it is exclusive and auto-delete, so dropping the connection
  // to get a redelivery deleted the queue with everything in it, and nothing was routed to
  // us until the reconnect (323 of 600 kept through a 30 s disk outage). There the message
  // is acked and stays in the journal's in-memory hold, as a ZeroMQ message does (/readyz
  // degraded meanwhile; the next snapshot or successful write puts it on disk).
  // Never kept in the hold once the data file failed for good: no write of this process can put
  // it on disk, and the service is ending (a server-named queue goes with its connection either way).
  const panic = intake.failedForGood;
  if (panic !== null) throw panic;
  if (deps.config.amqpQueue !== null && (intake.counters.journalWriteErrors > writeErrors || !intake.durable))
    throw new Error('the journal batch failed to commit');
  return undefined;
}
