/**
 * What an AmqpInput keeps across its connections: its status, the connection generation that
 * tells a current callback from a stale one, the deliveries held across connections, and the
 * back-off that schedules the next connection once one is lost. amqp-bus.ts extends it with
 * the connection itself (amqplib reaches this module as types only).
 */
import type amqplib from 'amqplib';
import type { AckWindow } from './amqp-ack-window.js';
import type { AmqpInputOptions } from './amqp-input-options.js';
import { HeldDeliveries, heldCap } from './amqp-held.js';
import { type AmqpStatus, initialStatus, redactUrl } from './amqp-status.js';
import { backoffDelay, defaultTimer } from './amqp-timing.js';

export type Model = Awaited<ReturnType<typeof amqplib.connect>>;
export type Channel = Awaited<ReturnType<Model['createChannel']>>;

export abstract class AmqpInputState {
  protected status: AmqpStatus;
  protected model: Model | null = null;
  protected consumer: { channel: Channel; tag: string; acks: AckWindow } | null = null;
  protected attempt = 0;
  /** When the current connection started consuming (null while not consuming). */
  protected consumingSince: number | null = null;
  protected cancelTimer: (() => void) | null = null;
  protected stopped = false;
  /** The broker cancelled the consumer (its queue was deleted) since the last connection consumed. */
  protected queueDeleted = false;
  /** Bumped per connection: acks for an older channel are meaningless (the broker redelivers). */
  protected generation = 0;
  /** Aborted when the current connection is lost (durable queue only): see onDelivery. */
  protected superseded = new AbortController();
  /** Aborted when the current connection is lost or the input closes (any queue): ends a deferred consume's wait. */
  protected gone = new AbortController();
  protected readonly inflight: HeldDeliveries;
  protected readonly now: () => number;
  private readonly random: () => number;
  protected readonly setTimer: (fn: () => void, ms: number) => () => void;

  constructor(
    protected readonly options: AmqpInputOptions,
    input = redactUrl(options.url),
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? defaultTimer;
    this.inflight = new HeldDeliveries(heldCap(options));
    this.status = initialStatus(
      input,
      options.queue !== null,
      this.now(),
      Number.isFinite(this.inflight.max) ? this.inflight.max : null,
    );
  }

  get current(): AmqpStatus {
    return { ...this.status, held: this.inflight.size };
  }

  /** Starts connecting in the background; state changes are reported through onState. */
  start(): void {
    void this.connect();
  }

  protected set(change: Partial<AmqpStatus>): void {
    const previous = this.status.state;
    this.status = {
      ...this.status,
      ...change,
      ...(change.state && change.state !== previous ? { since: this.now() } : {}),
    };
    if (change.state && change.state !== previous) this.options.onState?.(this.status, previous);
  }

  /** Opens the next connection (amqp-bus.ts): called by start() and by the timer lost() sets. */
  protected abstract connect(): Promise<void>;

  protected lost(generation: number, reason: string, deliveryFailed = false): void {
    if (generation !== this.generation || this.stopped) return;
    if (this.options.queue !== null) this.superseded.abort();
    this.gone.abort();
    const upFor = this.consumingSince === null ? 0 : this.now() - this.consumingSince;
    if (!deliveryFailed && upFor >= this.options.reconnect.maxMs) this.attempt = 0;
    this.consumingSince = null;
    this.generation++;
    this.model = null;
    this.consumer = null;
    this.attempt++;
    const delay = backoffDelay(
      this.attempt,
      this.options.reconnect.initialMs,
      this.options.reconnect.maxMs,
      this.random,
    );
    this.set({ state: 'closed', reason: `${reason}; reconnecting in ${delay} ms` });
    this.cancelTimer?.();
    this.cancelTimer = this.setTimer(() => {
      this.cancelTimer = null;
      void this.connect();
    }, delay);
  }
}
