/** What an AmqpInput is given: its broker, queue, bindings, windows, hooks and (for tests) clocks. */
import type { Delivery } from './amqp-message.js';
import type { AmqpState, AmqpStatus } from './amqp-status.js';

export interface AmqpTls {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

export interface AmqpInputOptions {
  readonly url: string;
  readonly bindings: readonly string[];
  /** A durable named queue; null: server-named, exclusive, auto-delete (Fedora's public broker). */
  readonly queue: string | null;
  readonly prefetch: number;
  /**
   * Most deliveries held at once across connections (at least `prefetch`; unset: no cap). A new
   * connection that would take more declares and binds its queue and defers `consume` until a
   * whole prefetch window fits again (amqp-held.ts); onDeferred is told each time.
   */
  readonly maxHeld?: number;
  readonly onDeferred?: (status: AmqpStatus) => void;
  /**
   * A body declared larger than this is dropped as its frames arrive, never gathered whole, and
   * delivered empty with its declared size (Delivery.declaredBytes). Unset: every body is read.
   */
  readonly maxBodyBytes?: number;
  readonly heartbeatSeconds: number;
  readonly tls: AmqpTls;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Resolves when the delivery may be acked; a rejection drops the connection so the broker
   * redelivers. Resolving 'refused' (it can never be taken in) acks it at once, ahead of the
   * deliveries before it still in progress: else a connection lost before those settle leaves it
   * unacked, and the broker delivers it, and it is refused and counted, once more.
   * `superseded` aborts once the connection it came on is lost, on a durable queue only: the
   * broker delivers it again on the next, so a delivery still waiting (held at start-up) may be
   * let go instead of piling up one copy per reconnect. A server-named queue died with the
   * connection: what it delivered is the only copy, and is kept.
   */
  readonly onDelivery: (delivery: Delivery, superseded: AbortSignal) => Promise<'refused' | undefined | void>;
  readonly onState?: (status: AmqpStatus, previous: AmqpState) => void;
  /**
   * What a durable queue was bound to before (AMQP cannot list bindings): keys no longer
   * configured are unbound on connect, and `record` is told what is bound now. `record` must
   * not throw (a failure to remember costs a stale binding later, not this connection).
   */
  readonly bindingRecord?: {
    readonly previous: () => readonly string[];
    readonly record: (keys: readonly string[]) => void;
    readonly unbound: (keys: readonly string[]) => void;
  };
  readonly now?: () => number;
  readonly random?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
  /** Longest wait for each step of close() (tests shorten it); default CLOSE_STEP_MS. */
  readonly closeStepMs?: number;
  /** Longest a connection may take from the TCP connect to consuming (tests shorten it); default SETUP_TIMEOUT_MS. */
  readonly setupTimeoutMs?: number;
}
