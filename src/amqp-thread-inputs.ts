/**
 * The `--amqp` inputs when their connections live on the AMQP input thread (--amqp-input-thread,
 * amqp-input-thread.ts): what AmqpInputs (amqp-inputs.ts) reads of each input, and each
 * delivery the thread prepared as the intake takes it (amqp-intake-delivery.ts's Arrival).
 */
import { createHash } from 'node:crypto';
import { heldCap } from './amqp-held.js';
import type { AmqpInputOptions } from './amqp-input-options.js';
import { AmqpInputThread } from './amqp-input-thread.js';
import { type Arrival, arrivalToIntake, type IntakePath, takenHere, takenPrepared } from './amqp-intake-delivery.js';
import type { Tally } from './amqp-input-report.js';
import type { Delivery } from './amqp-message.js';
import { refusalDigest } from './amqp-refusals.js';
import type { AmqpState, AmqpStatus } from './amqp-status.js';
import { initialStatus } from './amqp-status.js';
import type { ThreadInputOptions, ThreadItem } from './amqp-thread-protocol.js';
import type { Clock } from './clock.js';
import type { ThreadLimits } from './bus-prepare.js';
import { unpackPrepared } from './prepared-head.js';

/** One input as AmqpInputs configured it. */
export interface AmqpInputInit {
  readonly label: string;
  readonly options: AmqpInputOptions;
}

/** What AmqpInputs reads of an input, wherever its connection lives. */
export interface InputHandle {
  readonly current: AmqpStatus;
  start(): void;
  close(): Promise<void>;
}

/** The input thread's own settings (service-parts.ts). */
export interface InputThreadSettings {
  readonly limits: ThreadLimits;
  readonly hangTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly restarts: number;
  readonly clock: Clock;
}

/**
 * The digest a refusal judged here (a timestamp ahead of the service's clock) is remembered by:
 * what a redelivery repeats (routing key, the id the thread made of its message id or content).
 */
const digestOf = (reason: string, routingKey: string, id: string) =>
  createHash('sha1').update(reason).update('\n').update(routingKey).update('\n').update(id).digest('base64');

function arrivalOf(path: IntakePath, item: ThreadItem, buffer: ArrayBuffer | null, start: number): Arrival {
  // Whole literals, not a spread of shared fields: one hidden class each, not a new one per delivery.
  const { routingKey, redelivered } = item;
  const bytes = () => item.bytes;
  switch (item.k) {
    case 'ready': {
      const { id, meta, envelope, record } = unpackPrepared(buffer as ArrayBuffer, start, item.end, item.headEnd);
      const { truncated, corrected, filled } = item;
      return {
        routingKey,
        redelivered,
        bytes,
        digest: (reason) => digestOf(reason, routingKey, id),
        taken: () =>
          takenPrepared(path.deps, { kind: 'ready', id, meta, envelope, record, truncated, corrected, filled }),
      };
    }
    case 'rejected':
      return {
        routingKey,
        redelivered,
        bytes,
        digest: () => item.digest,
        taken: () => ({ ok: false, reason: item.reason, detail: item.detail }),
      };
    case 'raw': {
      const delivery: Delivery = { ...item, messageId: item.messageId, headers: item.headers };
      return {
        routingKey,
        redelivered,
        bytes,
        digest: (reason) => refusalDigest(delivery, reason),
        taken: () => takenHere(delivery, path.deps),
      };
    }
  }
}

/** The inputs `inits` describe, on one AMQP input thread. */
export function threadedInputs(
  path: IntakePath,
  inits: readonly AmqpInputInit[],
  tallies: readonly Tally[],
  settings: InputThreadSettings,
  onState: (tally: Tally, status: AmqpStatus, previous: AmqpState) => void,
  onGone: (reason: string) => void,
): { readonly thread: AmqpInputThread; readonly handles: InputHandle[] } {
  const { deps } = path;
  const inputs: ThreadInputOptions[] = inits.map(({ label, options: o }) => ({
    label,
    url: o.url,
    bindings: o.bindings,
    queue: o.queue,
    prefetch: o.prefetch,
    maxHeld: heldCap(o),
    maxBodyBytes: o.maxBodyBytes ?? deps.limits.maxFrameBytes,
    heartbeatSeconds: o.heartbeatSeconds,
    tls: {
      ...(o.tls.ca ? { ca: o.tls.ca } : {}),
      ...(o.tls.cert ? { cert: o.tls.cert } : {}),
      ...(o.tls.key ? { key: o.tls.key } : {}),
    },
    reconnect: o.reconnect,
  }));
  const initial = inits.map(({ label, options: o }, i) => {
    // As AmqpInputState reports it.
    const cap = (inputs[i] as ThreadInputOptions).maxHeld;
    return initialStatus(label, o.queue !== null, settings.clock.now(), Number.isFinite(cap) ? cap : null);
  });
  const thread = new AmqpInputThread(
    {
      data: {
        inputs,
        limits: settings.limits,
        maxTableBytes: deps.limits.maxFrameBytes,
        dataDir: deps.config.dataDir,
      },
      hangTimeoutMs: settings.hangTimeoutMs,
      startTimeoutMs: settings.startTimeoutMs,
      restarts: settings.restarts,
      clock: settings.clock,
      onState: (i, status, previous) => onState(tallies[i] as Tally, status, previous),
      deliver: (item, buffer, start, superseded) =>
        arrivalToIntake(
          path,
          (inits[item.input] as AmqpInputInit).label,
          tallies[item.input] as Tally,
          superseded,
          arrivalOf(path, item, buffer, start),
        ),
      log: (level, fields, msg) => deps.log[level](fields, msg),
      onGone,
    },
    initial,
  );
  let started = false;
  const handles = inits.map(
    (_, i): InputHandle => ({
      get current() {
        return thread.current(i);
      },
      start: () => {
        if (!started) thread.start();
        started = true;
      },
      close: () => thread.closeInput(i),
    }),
  );
  return { thread, handles };
}
