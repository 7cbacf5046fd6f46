/**
 * One AMQP delivery into the intake, for AmqpInputs (amqp-inputs.ts): decoded, refused or held
 * back, journaled, and settled once its journal batch committed.
 */
import { refusalDigest } from './amqp-refusals.js';
import type { AmqpInputsDeps } from './amqp-inputs-deps.js';
import type { Tally } from './amqp-input-report.js';
import { decodeDelivery, type Delivery } from './amqp-message.js';
import { decodedBytes } from './intake.js';

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
}

/** Resolves once the delivery may be acked: 'refused' when it was not stored (and never will be). */
export async function deliverToIntake(
  { deps, closing, unjournaled }: IntakePath,
  input: string,
  tally: Tally,
  delivery: Delivery,
  superseded: AbortSignal,
): Promise<'refused' | undefined> {
  // Decoded before the hold: a refused delivery is counted and acked now (AmqpInput acks it
  // ahead of those before it), so neither a held window nor a lost connection brings it back
  // to be counted again; and an oversized body never waits pinned in memory (128 MiB each).
  const result = decodeDelivery(delivery, deps.limits);
  const { intake } = deps;
  if (!result.ok) {
    // Acked at once, but an ack is not confirmed: one lost with its connection brings the
    // delivery back, flagged redelivered. Counting it again would say more arrived than did.
    if (!tally.refused.add(refusalDigest(delivery, result.reason)) && delivery.redelivered) {
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
  const held = deps.held();
  // Let go when its connection is lost (durable queue): the broker delivers it again, and each
  // reconnect during a long hold would otherwise keep one more copy of the window in memory.
  if (held) await unlessAborted(Promise.race([held, closing]), superseded);
  if (result.filledTimestamp) intake.counters.filledTimestamps++;
  if (result.correctedTimestamp) intake.counters.correctedTimestamps++;
  const writeErrors = intake.counters.journalWriteErrors;
  try {
    if (!intake.accept(result.envelope, decodedBytes([delivery.content]))) tally.duplicates++;
  } catch (err) {
    // It can never be stored, so a redelivery would fail the same way: ack it, count it, say so.
    tally.unjournaled++;
    unjournaled({ at: deps.now(), input, error: String(err).slice(0, 500) });
    deps.logLimited('amqp-unstorable', (suppressed) =>
      deps.log.error(
        { input, topic: result.envelope.topic, err: String(err), suppressed },
        'AMQP delivery could not be journaled; acked and dropped',
      ),
    );
    return 'refused';
  }
  // A duplicate waits too: its first copy may still be on its way to disk.
  await intake.settled();
  // Held in memory after failed commits is not on disk: a durable queue keeps it until it is.
  // A server-named queue cannot: it is exclusive and auto-delete, so dropping the connection
  // to get a redelivery deleted the queue with everything in it, and nothing was routed to
  // us until the reconnect (323 of 600 kept through a 30 s disk outage). There the message
  // is acked and stays in the journal's in-memory hold, as a ZeroMQ message does (/readyz
  // degraded meanwhile; the next snapshot or successful write puts it on disk).
  if (deps.config.amqpQueue !== null && (intake.counters.journalWriteErrors > writeErrors || !intake.durable))
    throw new Error('the journal batch failed to commit');
  return undefined;
}
