/**
 * The one module that talks to amqplib. One AmqpInput per `--amqp` URL: connects (TLS with
 * a client certificate and SASL EXTERNAL when one is given), declares the queue, binds it on
 * `amq.topic`, consumes with manual acks and a prefetch window, and reconnects with
 * exponential back-off and jitter. A delivery is acked only once the handler's promise
 * resolves (the service resolves it after the journal commit), in delivery order.
 * amqp-codec-guard.ts, imported first, bounds amqplib's header table decoder; amqp-frame-guard.ts
 * drops a header frame over that bound unread; amqp-body-guard.ts drops a body declared over
 * `maxBodyBytes` unread. What needs no amqplib lives beside it: amqp-status.ts (the status and
 * its URL label), amqp-input-options.ts, amqp-timing.ts (back-off, set-up and close bounds),
 * amqp-queue-setup.ts (declare and bind), amqp-ack-window.ts (acks in delivery order),
 * amqp-delivery.ts (a message as the Delivery handed upward), amqp-held.ts (deliveries held across
 * connections, and the cap past which a new connection defers its consume), amqp-input-state.ts
 * (the status, connection generation and reconnect back-off AmqpInput extends with the connection).
 */
import './amqp-codec-guard.js';
import './amqp-frame-guard.js';
import { capBodies } from './amqp-body-guard.js';
import { setMaxListeners } from 'node:events';
import amqplib from 'amqplib';
import { AckWindow } from './amqp-ack-window.js';
import { toDelivery } from './amqp-delivery.js';
import { type Channel, type Model, AmqpInputState } from './amqp-input-state.js';
import { declareAndBind } from './amqp-queue-setup.js';
import { redactUrl } from './amqp-status.js';
import { backoffDelay, CLOSE_STEP_MS, SETUP_TIMEOUT_MS, settlesWithin } from './amqp-timing.js';

export type { AmqpInputOptions, AmqpTls } from './amqp-input-options.js';
export { AMQP_EXCHANGE } from './amqp-queue-setup.js';
export type { AmqpState, AmqpStatus } from './amqp-status.js';
export { backoffDelay, redactUrl };

/** Drops a connection's socket: amqplib's typings hide it, and a broker that does not answer never closes it. */
const dropSocket = (model: Model | null): void =>
  (model as unknown as { connection?: { stream?: { destroy(): void } } } | null)?.connection?.stream?.destroy();
type Msg = Parameters<Channel['ack']>[0];

export class AmqpInput extends AmqpInputState {
  /**
   * Stops consuming, lets in-flight deliveries reach their ack, then closes the connection. Each
   * exchange with the broker waits at most `closeStepMs` (a broker that stopped answering would
   * otherwise hold the service's stop until --stop-timeout, and its final snapshot with it);
   * past that the socket is dropped: what was not acked, the broker delivers again.
   */
  async close(): Promise<void> {
    this.stopped = true;
    this.gone.abort();
    this.cancelTimer?.();
    const consumer = this.consumer;
    this.consumer = null;
    const step = this.options.closeStepMs ?? CLOSE_STEP_MS;
    let answering = true;
    const bounded = async (p: Promise<unknown>) => {
      if (answering) answering = await settlesWithin(p, step, this.setTimer);
    };
    // No new deliveries from here on; those already here are stored and acked before the close.
    if (consumer) await bounded(consumer.channel.cancel(consumer.tag));
    await this.inflight.settled();
    // The acks of this turn now, not at its end: the channel is closed next.
    consumer?.acks.flush();
    // The channel first: its close-ok comes after the acks on it, whereas a connection close can
    // overtake acks amqplib still holds in the channel's buffer (the broker would requeue them).
    if (consumer) await bounded(consumer.channel.close());
    const model = this.model;
    this.model = null;
    this.generation++;
    if (model) await bounded(model.close());
    if (!answering) dropSocket(model);
    this.set({
      state: 'closed',
      reason: answering ? 'stopped' : 'stopped (the broker did not answer; socket dropped)',
    });
  }

  private connectUrl(): string {
    const u = new URL(this.options.url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(this.options.heartbeatSeconds));
    return u.toString();
  }

  protected override async connect(): Promise<void> {
    if (this.stopped) return;
    this.set({ state: 'connecting', reason: this.status.reason });
    const { tls, queue, bindings, prefetch } = this.options;
    const generation = ++this.generation;
    const superseded = new AbortController();
    // Each delivery held at start-up listens on it (amqp-intake-delivery.ts): up to a prefetch window, past
    // Node's default of 10, whose "possible memory leak" warning every start with a backlog printed.
    setMaxListeners(prefetch + 1, superseded.signal);
    this.superseded = superseded;
    const gone = new AbortController();
    this.gone = gone;
    let model: Model | null = null;
    const setupMs = this.options.setupTimeoutMs ?? SETUP_TIMEOUT_MS;
    const armSetup = () =>
      this.setTimer(() => {
        if (generation !== this.generation || this.stopped) return;
        const stalled = model;
        this.lost(generation, `the broker did not answer within ${setupMs / 1000} s of connecting`);
        // The socket goes too: a step still awaiting the broker then fails, and finds itself superseded.
        dropSocket(stalled);
      }, setupMs);
    let cancelSetup = armSetup();
    try {
      model = await amqplib.connect(this.connectUrl(), {
        // Before the handshake is done: amqplib then destroys the socket it is still opening.
        timeout: setupMs,
        ...(tls.ca ? { ca: [tls.ca] } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        // amqplib falls back to PLAIN with the URL's user otherwise, which a certificate-only broker refuses.
        ...(tls.cert ? { credentials: amqplib.credentials.external() } : {}),
        clientProperties: { connection_name: 'statscache' },
      });
      if (this.stopped || generation !== this.generation) {
        await model.close().catch(() => undefined);
        return;
      }
      this.model = model;
      model.on('error', () => undefined); // 'close' follows with the reason
      model.on('close', (err?: Error) => this.lost(generation, err ? err.message : 'connection closed by the broker'));
      model.on(
        'blocked',
        (reason: string) =>
          generation === this.generation &&
          this.set({ state: 'blocked', reason: `broker blocked the connection: ${reason}` }),
      );
      model.on('unblocked', () => generation === this.generation && this.set({ state: 'consuming', reason: null }));
      const channel = await model.createChannel();
      if (this.options.maxBodyBytes !== undefined) capBodies(channel, this.options.maxBodyBytes);
      channel.on('error', () => undefined);
      channel.on('close', () => void model?.close().catch(() => undefined));
      await channel.prefetch(prefetch);
      const declared = await declareAndBind(model, channel, queue, bindings, this.options.bindingRecord);
      const existed = declared.existed;
      if (!this.inflight.roomFor(prefetch)) {
        // The broker answered every step so far: the wait below is ours, not a stalled set-up.
        cancelSetup();
        this.set({
          reason: `consume deferred: ${this.inflight.size} deliveries of earlier connections held (cap ${this.inflight.max}) until start-up ends; queue ${declared.queue} is bound and the broker holds what arrives meanwhile`,
          queue: declared.queue,
          consumeDeferrals: this.status.consumeDeferrals + 1,
        });
        this.options.onDeferred?.(this.current);
        const room = await this.inflight.waitForRoom(prefetch, gone.signal);
        if (!room || this.stopped || generation !== this.generation) {
          await model.close().catch(() => undefined);
          return;
        }
        cancelSetup = armSetup();
      }
      const acks = new AckWindow(
        channel,
        () => generation === this.generation,
        (n, stored) => {
          // A refused delivery acked says nothing of whether this connection can store anything.
          if (stored) this.attempt = 0;
          this.set({ acked: this.status.acked + n });
        },
      );
      const { consumerTag } = await channel.consume(
        declared.queue,
        (msg) => {
          if (msg === null) {
            // Consumer cancelled: the queue was deleted, with what it held, and nothing reaches it
            // until it is declared again. Start over, and have that reconnect count as a gap.
            if (generation === this.generation) {
              this.queueDeleted = true;
              this.lost(generation, `the broker cancelled the consumer (queue ${declared.queue} deleted?)`);
            }
            void model?.close().catch(() => undefined);
            return;
          }
          this.deliver(generation, msg, acks, superseded.signal);
        },
        // A durable queue has one consumer: a second service on it would silently get every
        // other message. The broker refuses it (ACCESS_REFUSED), and it keeps retrying.
        { noAck: false, exclusive: queue !== null },
      );
      // The connection may have dropped while we awaited the broker (lost() ran and scheduled a
      // reconnect): saying "consuming" now would hide that until the next reconnect, for up to
      // the longest back-off, while nothing is connected.
      if (this.stopped || generation !== this.generation) {
        await model.close().catch(() => undefined);
        return;
      }
      this.consumer = { channel, tag: consumerTag, acks };
      // The back-off is not reset here: a connection that opens and then fails every delivery
      // (a full disk) would otherwise reconnect at the initial delay forever. Only a stored
      // delivery (an ack) or a connection that stayed up past the longest delay resets it.
      this.consumingSince = this.now();
      this.set({
        state: 'consuming',
        reason: null,
        queue: declared.queue,
        lostQueue: queue === null || this.queueDeleted || !existed,
        connects: this.status.connects + 1,
      });
      this.queueDeleted = false;
    } catch (err) {
      if (model) await model.close().catch(() => undefined);
      const message = (err as Error)?.message ?? String(err);
      this.lost(
        generation,
        /exclusive use/.test(message) && queue !== null
          ? `another consumer (a second statscache?) holds queue ${queue}: ${message}`
          : message,
      );
    } finally {
      cancelSetup();
    }
  }

  private deliver(generation: number, msg: Msg, acks: AckWindow, superseded: AbortSignal): void {
    this.set({ deliveries: this.status.deliveries + 1 });
    const tag = msg.fields.deliveryTag;
    acks.expect(tag);
    const pending = this.options.onDelivery(toDelivery(msg), superseded).then(
      (outcome) => (outcome === 'refused' ? acks.refused(tag) : acks.done(tag)),
      (err: unknown) => {
        // Not durable: leave it unacked and start over, so the broker delivers it again.
        if (generation === this.generation) void this.model?.close().catch(() => undefined);
        this.lost(generation, `delivery not stored: ${(err as Error)?.message ?? String(err)}`, true);
      },
    );
    this.inflight.add(pending);
  }
}
