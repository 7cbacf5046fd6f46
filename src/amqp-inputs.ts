/**
 * Wires the `--amqp` inputs to the intake: each delivery is decoded into the fedmsg envelope
 * form, bounded, de-duplicated and journaled like a ZeroMQ frame, and acked only after its
 * journal batch committed. A delivery that cannot be decoded is acked (requeueing it would loop
 * forever, as fedora-messaging's own consumer knows), counted by reason and logged at a limited rate.
 * Beside it: amqp-inputs-deps.ts (what it is built from, amqplib's side loaded only when an input
 * is configured), amqp-intake-delivery.ts (one delivery's way into the intake) and
 * amqp-input-report.ts (what each input reports beyond its connection status).
 */
import { StatscacheError } from '../actors/errors.js';
import { AmqpBindingRecord } from './amqp-binding-record.js';
import type { AmqpInputOptions, AmqpState, AmqpStatus, AmqpTls } from './amqp-bus.js';
import { type AmqpInputReport, type AmqpReadiness, newTally, type Tally } from './amqp-input-report.js';
import type { AmqpClient, AmqpInputsDeps } from './amqp-inputs-deps.js';
import type { AmqpInputThread } from './amqp-input-thread.js';
import { type AmqpInputInit, type InputHandle, threadedInputs } from './amqp-thread-inputs.js';
import { deliverToIntake, type IntakePath } from './amqp-intake-delivery.js';
import { AmqpPrepareThread } from './amqp-prepare-thread.js';
import { readBoundedFile } from './bounded-read.js';

function readPem(path: string | null, key: 'amqpCa' | 'amqpCert' | 'amqpKey'): Buffer | undefined {
  if (path === null) return undefined;
  try {
    return readBoundedFile(path);
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "${key}": cannot read ${path}: ${(err as Error).message}`);
  }
}

/** --amqp-max-held unset: this many prefetch windows. */
export const DEFAULT_HELD_WINDOWS = 4;

export class AmqpInputs {
  readonly inputs: InputHandle[] = [];
  private readonly tallies: Tally[] = [];
  /** The last delivery the journal could not store (any input), for /healthz and /readyz. */
  private lastUnjournaled: { at: number; input: string; error: string } | null = null;
  /** Rejects on close: a delivery still held back is then left unacked (the broker redelivers it). */
  private readonly closing: { promise: Promise<never>; reject: (err: Error) => void };
  /** Where large deliveries are decoded (null: on the main thread); why it is gone, if it is: `thread.failed`. */
  readonly thread: AmqpPrepareThread | null;
  /** Where the connections live when not on the main thread (--amqp-input-thread); null: here. */
  readonly inputThread: AmqpInputThread | null;
  /** Told once the input thread is not started again (start()'s caller: intake stopped). */
  private threadGone: (reason: string) => void = () => {};

  constructor(private readonly deps: AmqpInputsDeps) {
    let reject: (err: Error) => void = () => {};
    const promise = new Promise<never>((_, r) => (reject = r));
    promise.catch(() => undefined);
    this.closing = { promise, reject };
    const { config, client } = deps;
    const threadOptions = deps.thread;
    const onThread = deps.inputThread != null && config.amqp.length > 0;
    this.thread =
      threadOptions === null || config.amqp.length === 0 || onThread
        ? null
        : new AmqpPrepareThread({
            ...threadOptions,
            onFailed: (reason, restartInMs) =>
              deps.log.error(
                { reason, restartInMs, failures: this.thread?.failures },
                restartInMs === null
                  ? `AMQP prepare thread gone: large deliveries are decoded on the main thread for the rest of the run (--amqp-thread-restarts ${threadOptions.restarts})`
                  : 'AMQP prepare thread gone: large deliveries are decoded on the main thread until a fresh one is up',
              ),
            onRestarted: (restart) =>
              deps.log.warn(
                { restart, of: threadOptions.restarts },
                'AMQP prepare thread up again: large deliveries are decoded off the main thread',
              ),
          });
    const path: IntakePath = {
      deps,
      closing: promise,
      unjournaled: (last) => (this.lastUnjournaled = last),
      thread: this.thread,
    };
    // Header tables over the frame bound are never decoded (amqp-codec-guard.ts), and refused as oversized.
    client?.capTables(deps.limits.maxFrameBytes);
    const tls: AmqpTls = {
      ca: readPem(config.amqpCa, 'amqpCa'),
      cert: readPem(config.amqpCert, 'amqpCert'),
      key: readPem(config.amqpKey, 'amqpKey'),
    };
    const labels = new Set<string>();
    const inits: AmqpInputInit[] = [];
    config.amqp.forEach((url, i) => {
      if (client === null)
        throw new Error('AMQP inputs are configured but their client was not loaded (loadAmqpClient)');
      let label = client.redactUrl(url);
      if (labels.has(label)) label = `${label}#${i + 1}`;
      labels.add(label);
      const tally = newTally();
      this.tallies.push(tally);
      inits.push({
        label,
        options: {
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
          onDelivery: (d, superseded) => deliverToIntake(path, label, tally, d, superseded),
          onState: (status, previous) => this.changed(tally, status, previous),
          ...(config.amqpQueue === null ? {} : { bindingRecord: this.bindingRecord(label, config.amqpQueue, labels) }),
          now: deps.now,
        },
      });
    });
    if (onThread && deps.inputThread != null) {
      const { thread, handles } = threadedInputs(
        path,
        inits,
        this.tallies,
        deps.inputThread,
        (tally, status, previous) => this.changed(tally, status, previous),
        (reason) => this.threadGone(reason),
      );
      this.inputThread = thread;
      this.inputs.push(...handles);
      return;
    }
    this.inputThread = null;
    for (const { label, options } of inits) this.inputs.push(new (client as AmqpClient).AmqpInput(options, label));
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

  /**
   * `onThreadGone`: the AMQP input thread failed past --amqp-thread-restarts, so every input is
   * closed for the rest of the run (connections on the main thread reconnect for good: never told).
   */
  start(onThreadGone: (reason: string) => void): void {
    this.threadGone = onThreadGone;
    for (const input of this.inputs) input.start();
  }

  async close(): Promise<void> {
    this.closing.reject(new Error('closing before the service consumed it'));
    await Promise.all(this.inputs.map((i) => i.close()));
    // After the inputs: they let their deliveries reach the journal first.
    await this.thread?.close();
    await this.inputThread?.close();
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
