/**
 * Wires the `--amqp` inputs to the intake: each delivery is decoded into the fedmsg envelope
 * form, bounded, de-duplicated and journaled like a ZeroMQ frame, and acked only after its
 * journal batch committed. A delivery that cannot be decoded is acked (requeueing it would loop
 * forever, as fedora-messaging's own consumer knows), counted by reason and logged at a limited rate.
 */
import { StatscacheError } from '../actors/errors.js';
import { AmqpBindingRecord } from './amqp-binding-record.js';
import { RecentRefusals, refusalDigest } from './amqp-refusals.js';
import { readBoundedFile } from './bounded-read.js';
import type { AmqpInput, AmqpInputOptions, AmqpState, AmqpStatus, AmqpTls } from './amqp-bus.js';
import { decodeDelivery, type Delivery } from './amqp-message.js';
import type { Config } from './config.js';
import { DECODE_ERROR_REASONS, type DecodeErrorReason, type FrameLimits } from './decode-frames.js';
import { decodedBytes, type Intake } from './intake.js';
import type { Logger } from './logger.js';

export interface AmqpInputReport extends AmqpStatus {
  readonly duplicates: number;
  readonly decodeErrors: Readonly<Record<DecodeErrorReason, number>>;
  readonly refusedRedeliveries: number;
  /** Deliveries acked that the journal could not store: lost to this instance. */
  readonly unjournaled: number;
}

/** One AMQP input as /readyz shows it. */
export interface AmqpReadiness {
  readonly input: string;
  readonly state: AmqpState;
  readonly reason: string | null;
  readonly since: string;
  readonly queue: string | null;
  readonly durable_queue: boolean;
  readonly deliveries: number;
  readonly acked: number;
  /** Deliveries received and not yet acked, across connections (start-up holds them). */
  readonly held: number;
  /** The cap on `held` (--amqp-max-held): past it a new connection defers its consume. */
  readonly max_held: number | null;
  readonly consume_deferrals: number;
  /** Deliveries acked that the journal could not store (statscache_amqp_unjournaled_total). */
  readonly unjournaled: number;
}

/** amqplib's side of the inputs: loaded only when `--amqp` names one (amqplib and its guards cost every other start ~80 ms of CPU). */
export interface AmqpClient {
  readonly AmqpInput: typeof AmqpInput;
  readonly redactUrl: (url: string) => string;
  readonly capTables: (maxBytes: number) => void;
}

export async function loadAmqpClient(config: Config): Promise<AmqpClient | null> {
  if (config.amqp.length === 0) return null;
  // The guard first: it must patch amqplib's codec before amqplib loads (amqp-bus.ts imports it first too).
  const { capTables } = await import('./amqp-codec-guard.js');
  const { AmqpInput, redactUrl } = await import('./amqp-bus.js');
  return { AmqpInput, redactUrl, capTables };
}

export interface AmqpInputsDeps {
  readonly config: Config;
  /** From loadAmqpClient(config): null when no input is configured. */
  readonly client: AmqpClient | null;
  readonly intake: Intake;
  readonly limits: FrameLimits;
  readonly log: Logger;
  readonly logLimited: (key: string, emit: (suppressed: number) => void) => void;
  /** A promise while live messages are held back (start-up replay and backfill), else undefined. */
  readonly held: () => Promise<void> | undefined;
  /** A queue made anew came back after a drop (server-named, or a durable one deleted): what was published meanwhile is lost to it. */
  readonly onResumed: (info: { input: string; downSince: number }) => void;
  /**
   * An input consumes its first queue, one made anew (server-named): nothing published before
   * it existed reached it, which the start-up backfill covers only if its window ended later.
   */
  readonly onFirstQueue: (info: { input: string }) => void;
  readonly now: () => number;
}

interface Tally {
  duplicates: number;
  decodeErrors: Record<DecodeErrorReason, number>;
  /** Refused deliveries that came back after their ack was lost (not counted again). */
  refusedRedeliveries: number;
  /** Deliveries the journal could not store, acked and lost. */
  unjournaled: number;
  refused: RecentRefusals;
  downSince: number | null;
  /** The input consumed once already (a later queue is a resume, not a first). */
  consumed: boolean;
}

function readPem(path: string | null, key: 'amqpCa' | 'amqpCert' | 'amqpKey'): Buffer | undefined {
  if (path === null) return undefined;
  try {
    return readBoundedFile(path);
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "${key}": cannot read ${path}: ${(err as Error).message}`);
  }
}

/** `wait`, or a rejection once `signal` aborts; the listener goes when either settles. */
function unlessAborted(wait: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = () => reject(new Error('its connection was lost: the broker delivers it again'));
    if (signal.aborted) return fail();
    signal.addEventListener('abort', fail, { once: true });
    wait.then(() => resolve(), reject).finally(() => signal.removeEventListener('abort', fail));
  });
}

/** --amqp-max-held unset: this many prefetch windows. */
export const DEFAULT_HELD_WINDOWS = 4;

export class AmqpInputs {
  readonly inputs: AmqpInput[] = [];
  private readonly tallies: Tally[] = [];
  /** The last delivery the journal could not store (any input), for /healthz and /readyz. */
  private lastUnjournaled: { at: number; input: string; error: string } | null = null;
  /** Rejects on close: a delivery still held back is then left unacked (the broker redelivers it). */
  private readonly closing: { promise: Promise<never>; reject: (err: Error) => void };

  constructor(private readonly deps: AmqpInputsDeps) {
    let reject: (err: Error) => void = () => {};
    const promise = new Promise<never>((_, r) => (reject = r));
    promise.catch(() => undefined);
    this.closing = { promise, reject };
    const { config, client } = deps;
    // Header tables over the frame bound are never decoded (amqp-codec-guard.ts), and refused as oversized.
    client?.capTables(deps.limits.maxFrameBytes);
    const tls: AmqpTls = {
      ca: readPem(config.amqpCa, 'amqpCa'),
      cert: readPem(config.amqpCert, 'amqpCert'),
      key: readPem(config.amqpKey, 'amqpKey'),
    };
    const labels = new Set<string>();
    config.amqp.forEach((url, i) => {
      if (client === null)
        throw new Error('AMQP inputs are configured but their client was not loaded (loadAmqpClient)');
      let label = client.redactUrl(url);
      if (labels.has(label)) label = `${label}#${i + 1}`;
      labels.add(label);
      const tally: Tally = {
        duplicates: 0,
        decodeErrors: Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<DecodeErrorReason, number>,
        refusedRedeliveries: 0,
        unjournaled: 0,
        refused: new RecentRefusals(),
        downSince: null,
        consumed: false,
      };
      this.tallies.push(tally);
      const input = new client.AmqpInput(
        {
          url,
          bindings: config.amqpBinding,
          queue: config.amqpQueue,
          prefetch: config.amqpPrefetch,
          maxHeld: config.amqpMaxHeld ?? DEFAULT_HELD_WINDOWS * config.amqpPrefetch,
          onDeferred: (status) =>
            deps.log.warn(
              { input: status.input, queue: status.queue, held: status.held, maxHeld: status.maxHeld },
              'AMQP consume deferred: held deliveries at the cap until start-up ends (the broker holds what arrives meanwhile)',
            ),
          maxBodyBytes: deps.limits.maxFrameBytes,
          heartbeatSeconds: config.amqpHeartbeat,
          tls,
          reconnect: { initialMs: 500, maxMs: config.amqpReconnectMax * 1000 },
          onDelivery: (d, superseded) => this.deliver(label, tally, d, superseded),
          onState: (status, previous) => this.changed(tally, status, previous),
          ...(config.amqpQueue === null ? {} : { bindingRecord: this.bindingRecord(label, config.amqpQueue, labels) }),
          now: deps.now,
        },
        label,
      );
      this.inputs.push(input);
    });
  }

  /** `inputs`: every input's label (filled by the time any connects). */
  private bindingRecord(
    input: string,
    queue: string,
    inputs: ReadonlySet<string>,
  ): NonNullable<AmqpInputOptions['bindingRecord']> {
    const { log } = this.deps;
    const file = new AmqpBindingRecord(this.deps.config.dataDir);
    return {
      previous: () => file.read(input, queue),
      record: (keys) => {
        try {
          file.write(input, queue, keys, inputs);
        } catch (err) {
          log.warn(
            { input, queue, err: String(err) },
            'could not record the AMQP bindings (a later change may leave one stale)',
          );
        }
      },
      unbound: (keys) => log.info({ input, queue, keys }, 'AMQP bindings no longer configured removed from the queue'),
    };
  }

  start(): void {
    for (const input of this.inputs) input.start();
  }

  async close(): Promise<void> {
    this.closing.reject(new Error('closing before the service consumed it'));
    await Promise.all(this.inputs.map((i) => i.close()));
  }

  reports(): AmqpInputReport[] {
    return this.inputs.map((input, i) => {
      const tally = this.tallies[i] as Tally;
      return {
        ...input.current,
        duplicates: tally.duplicates,
        decodeErrors: tally.decodeErrors,
        refusedRedeliveries: tally.refusedRedeliveries,
        unjournaled: tally.unjournaled,
      };
    });
  }

  /** The /readyz field: every input's state. A down input degrades, it does not unready (README, "Readiness"). */
  /** Each input as /readyz shows it; one that is not consuming makes the instance degraded (readiness.ts). */
  readiness(): AmqpReadiness[] {
    return this.inputs.map(({ current: s }, i) => ({
      input: s.input,
      state: s.state,
      reason: s.reason,
      since: new Date(s.since).toISOString(),
      queue: s.queue,
      durable_queue: s.durableQueue,
      deliveries: s.deliveries,
      acked: s.acked,
      held: s.held,
      max_held: s.maxHeld,
      consume_deferrals: s.consumeDeferrals,
      unjournaled: (this.tallies[i] as Tally).unjournaled,
    }));
  }

  /**
   * Deliveries acked this run that the journal could not store, in /readyz's and /healthz's
   * words, or null: they are lost to this instance (a --datagrepper backfill at the next start
   * may bring them back), so it stays degraded for the rest of the run.
   */
  unjournaledProblem(): string | null {
    const last = this.lastUnjournaled;
    if (last === null) return null;
    const n = this.tallies.reduce((sum, t) => sum + t.unjournaled, 0);
    return `${n} AMQP deliver${n === 1 ? 'y' : 'ies'} acked without being journaled this run (the journal could not store ${n === 1 ? 'it' : 'them'}: lost to this instance), the last at ${new Date(last.at).toISOString()} from ${last.input}: ${last.error}`;
  }

  private async deliver(
    input: string,
    tally: Tally,
    delivery: Delivery,
    superseded: AbortSignal,
  ): Promise<'refused' | undefined> {
    // Decoded before the hold: a refused delivery is counted and acked now (AmqpInput acks it
    // ahead of those before it), so neither a held window nor a lost connection brings it back
    // to be counted again; and an oversized body never waits pinned in memory (128 MiB each).
    const result = decodeDelivery(delivery, this.deps.limits);
    const { intake } = this.deps;
    if (!result.ok) {
      // Acked at once, but an ack is not confirmed: one lost with its connection brings the
      // delivery back, flagged redelivered. Counting it again would say more arrived than did.
      if (!tally.refused.add(refusalDigest(delivery, result.reason)) && delivery.redelivered) {
        tally.refusedRedeliveries++;
        return 'refused';
      }
      intake.counters.decodeErrors[result.reason]++;
      tally.decodeErrors[result.reason]++;
      this.deps.logLimited(`amqp-decode:${result.reason}`, (suppressed) =>
        this.deps.log.warn(
          { input, reason: result.reason, detail: result.detail, topic: delivery.routingKey.slice(0, 255), suppressed },
          'AMQP delivery skipped (acked, not requeued)',
        ),
      );
      return 'refused';
    }
    const held = this.deps.held();
    // Let go when its connection is lost (durable queue): the broker delivers it again, and each
    // reconnect during a long hold would otherwise keep one more copy of the window in memory.
    if (held) await unlessAborted(Promise.race([held, this.closing.promise]), superseded);
    if (result.filledTimestamp) intake.counters.filledTimestamps++;
    if (result.correctedTimestamp) intake.counters.correctedTimestamps++;
    const writeErrors = intake.counters.journalWriteErrors;
    try {
      if (!intake.accept(result.envelope, decodedBytes([delivery.content]))) tally.duplicates++;
    } catch (err) {
      // It can never be stored, so a redelivery would fail the same way: ack it, count it, say so.
      tally.unjournaled++;
      this.lastUnjournaled = { at: this.deps.now(), input, error: String(err).slice(0, 500) };
      this.deps.logLimited('amqp-unstorable', (suppressed) =>
        this.deps.log.error(
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
    if (this.deps.config.amqpQueue !== null && (intake.counters.journalWriteErrors > writeErrors || !intake.durable))
      throw new Error('the journal batch failed to commit');
    return undefined;
  }

  private changed(tally: Tally, status: AmqpStatus, previous: AmqpState): void {
    const { log } = this.deps;
    const fields = { input: status.input, state: status.state, reason: status.reason, queue: status.queue };
    if (status.state === 'consuming') {
      log.info(
        { ...fields, durableQueue: status.durableQueue, connects: status.connects },
        previous === 'blocked' ? 'AMQP input unblocked' : 'AMQP input consuming',
      );
      if (tally.downSince !== null && status.lostQueue)
        this.deps.onResumed({ input: status.input, downSince: tally.downSince });
      else if (!tally.consumed && status.lostQueue) this.deps.onFirstQueue({ input: status.input });
      tally.consumed = true;
      tally.downSince = null;
    } else if (status.state === 'closed') {
      if (previous === 'consuming' || previous === 'blocked') tally.downSince ??= status.since;
      this.deps.logLimited(`amqp-state:${status.input}`, (suppressed) =>
        log.warn({ ...fields, suppressed }, 'AMQP input closed'),
      );
    } else if (status.state === 'blocked') {
      log.warn(fields, 'AMQP input blocked by the broker');
    }
  }
}
