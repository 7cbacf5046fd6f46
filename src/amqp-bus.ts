/**
 * The one module that talks to amqplib. One AmqpInput per `--amqp` URL: connects (TLS with
 * a client certificate and SASL EXTERNAL when one is given), declares the queue, binds it on
 * `amq.topic`, consumes with manual acks and a prefetch window, and reconnects with
 * exponential back-off and jitter. A delivery is acked only once the handler's promise
 * resolves (the service resolves it after the journal commit), in delivery order.
 * amqp-codec-guard.ts, imported first, bounds amqplib's header table decoder; amqp-frame-guard.ts
 * drops a header frame over that bound unread; amqp-body-guard.ts drops a body declared over
 * `maxBodyBytes` unread.
 */
import './amqp-codec-guard.js';
import './amqp-frame-guard.js';
import { capBodies } from './amqp-body-guard.js';
import amqplib from 'amqplib';
import { DECLARED_BYTES, FRAME_TOO_LARGE, type Delivery } from './amqp-message.js';

export const AMQP_EXCHANGE = 'amq.topic';

export type AmqpState = 'connecting' | 'consuming' | 'blocked' | 'closed';

export interface AmqpStatus {
  /** The URL without credentials: the label in /readyz, /metrics and logs. */
  readonly input: string;
  readonly state: AmqpState;
  /** Why the connection is closed or blocked (null otherwise). */
  readonly reason: string | null;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /** The queue consumed (server-named ones change on every connection). */
  readonly queue: string | null;
  readonly durableQueue: boolean;
  /**
   * This connection consumes a queue made anew since the last one consumed: what was published
   * in between never reached it. Always so for a server-named queue (it dies with its
   * connection); for a durable one, once the broker cancelled its consumer because the queue was
   * deleted (by an operator, a policy, a lost cluster node), or when the queue was gone as this
   * connection declared it (deleted, or a broker reset, while no consumer of ours was there).
   */
  readonly lostQueue: boolean;
  readonly connects: number;
  readonly deliveries: number;
  readonly acked: number;
}

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

/** Equal jitter: half the exponential step is fixed, half random, so restarts do not stampede. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** `amqps://user:secret@host/vhost` → `amqps://host/vhost` (never log or serve a password). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** Longest wait for the broker's answer to each step of a close (cancel, channel close, connection close). */
const CLOSE_STEP_MS = 3000;

/**
 * Longest a connection may take from the TCP connect to consuming (login, channel, queue,
 * bindings). amqplib waits for the broker's handshake without end, and heartbeats only start
 * once it is done: a peer that accepted the connection and never answered (a wedged broker or
 * proxy, a path that dropped after the SYN) held the input at `connecting` for good, no retry
 * ever made, so it never recovered once the broker did. RabbitMQ's own handshake timeout is 10 s.
 */
const SETUP_TIMEOUT_MS = 30_000;

/** True if `p` settles (either way) within `ms`; false once the timer fires first. */
function settlesWithin(
  p: Promise<unknown>,
  ms: number,
  setTimer: (fn: () => void, ms: number) => () => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = setTimer(() => resolve(false), ms);
    p.then(
      () => {
        cancel();
        resolve(true);
      },
      () => {
        cancel();
        resolve(true);
      },
    );
  });
}

type Model = Awaited<ReturnType<typeof amqplib.connect>>;

/**
 * Whether a named queue exists now: a passive declare, on a channel of its own since a miss
 * (404) closes the channel it was asked on. Any refusal reads as gone (a needless backfill at
 * worst, which de-duplication absorbs).
 */
async function queueExists(model: Model, queue: string): Promise<boolean> {
  const probe = await model.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
  } catch {
    return false;
  }
  await probe.close().catch(() => undefined);
  return true;
}

/** Drops a connection's socket: amqplib's typings hide it, and a broker that does not answer never closes it. */
const dropSocket = (model: Model | null): void =>
  (model as unknown as { connection?: { stream?: { destroy(): void } } } | null)?.connection?.stream?.destroy();
type Channel = Awaited<ReturnType<Model['createChannel']>>;
type Msg = Parameters<Channel['ack']>[0];

export class AmqpInput {
  private status: AmqpStatus;
  private model: Model | null = null;
  private consumer: { channel: Channel; tag: string } | null = null;
  private attempt = 0;
  /** When the current connection started consuming (null while not consuming). */
  private consumingSince: number | null = null;
  private cancelTimer: (() => void) | null = null;
  private stopped = false;
  /** The broker cancelled the consumer (its queue was deleted) since the last connection consumed. */
  private queueDeleted = false;
  /** Bumped per connection: acks for an older channel are meaningless (the broker redelivers). */
  private generation = 0;
  /** Aborted when the current connection is lost (durable queue only): see onDelivery. */
  private superseded = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => () => void;

  constructor(
    private readonly options: AmqpInputOptions,
    input = redactUrl(options.url),
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? defaultTimer;
    this.status = {
      input,
      state: 'connecting',
      reason: null,
      since: this.now(),
      queue: null,
      durableQueue: options.queue !== null,
      lostQueue: options.queue === null,
      connects: 0,
      deliveries: 0,
      acked: 0,
    };
  }

  get current(): AmqpStatus {
    return this.status;
  }

  /** Starts connecting in the background; state changes are reported through onState. */
  start(): void {
    void this.connect();
  }

  /**
   * Stops consuming, lets in-flight deliveries reach their ack, then closes the connection. Each
   * exchange with the broker waits at most `closeStepMs` (a broker that stopped answering would
   * otherwise hold the service's stop until --stop-timeout, and its final snapshot with it);
   * past that the socket is dropped: what was not acked, the broker delivers again.
   */
  async close(): Promise<void> {
    this.stopped = true;
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
    await Promise.allSettled([...this.inflight]);
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

  private set(change: Partial<AmqpStatus>): void {
    const previous = this.status.state;
    this.status = {
      ...this.status,
      ...change,
      ...(change.state && change.state !== previous ? { since: this.now() } : {}),
    };
    if (change.state && change.state !== previous) this.options.onState?.(this.status, previous);
  }

  private connectUrl(): string {
    const u = new URL(this.options.url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(this.options.heartbeatSeconds));
    return u.toString();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.set({ state: 'connecting', reason: this.status.reason });
    const { tls, queue, bindings, prefetch } = this.options;
    const generation = ++this.generation;
    const superseded = new AbortController();
    this.superseded = superseded;
    let model: Model | null = null;
    const setupMs = this.options.setupTimeoutMs ?? SETUP_TIMEOUT_MS;
    const cancelSetup = this.setTimer(() => {
      if (generation !== this.generation || this.stopped) return;
      const stalled = model;
      this.lost(generation, `the broker did not answer within ${setupMs / 1000} s of connecting`);
      // The socket goes too: a step still awaiting the broker then fails, and finds itself superseded.
      dropSocket(stalled);
    }, setupMs);
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
      // A durable queue deleted while no consumer of ours was on it (so no cancel told us) is made
      // anew by the declare below, without a word: what it held and what was published meanwhile is gone.
      const existed = queue !== null && (await queueExists(model, queue));
      const declared =
        queue === null
          ? await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false })
          : await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
      const record = queue === null ? undefined : this.options.bindingRecord;
      const before = record?.previous() ?? [];
      const stale = before.filter((key) => !bindings.includes(key));
      // Recorded first as the union: a crash between binding and unbinding still knows every key.
      record?.record([...new Set([...before, ...bindings])]);
      for (const key of bindings) await channel.bindQueue(declared.queue, AMQP_EXCHANGE, key);
      for (const key of stale) await channel.unbindQueue(declared.queue, AMQP_EXCHANGE, key);
      if (record) {
        record.record(bindings);
        if (stale.length > 0) record.unbound(stale);
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
      this.consumer = { channel, tag: consumerTag };
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
    const pending = this.options
      .onDelivery(
        {
          routingKey: msg.fields.routingKey,
          content: msg.content,
          declaredBytes: (msg.properties as { [DECLARED_BYTES]?: number })[DECLARED_BYTES],
          headerFrameBytes: (msg.properties as { [FRAME_TOO_LARGE]?: number })[FRAME_TOO_LARGE],
          messageId: msg.properties.messageId,
          headers: msg.properties.headers,
          redelivered: msg.fields.redelivered,
        },
        superseded,
      )
      .then(
        (outcome) => (outcome === 'refused' ? acks.refused(tag) : acks.done(tag)),
        (err: unknown) => {
          // Not durable: leave it unacked and start over, so the broker delivers it again.
          if (generation === this.generation) void this.model?.close().catch(() => undefined);
          this.lost(generation, `delivery not stored: ${(err as Error)?.message ?? String(err)}`, true);
        },
      );
    this.inflight.add(pending);
    void pending.finally(() => this.inflight.delete(pending));
  }

  private lost(generation: number, reason: string, deliveryFailed = false): void {
    if (generation !== this.generation || this.stopped) return;
    if (this.options.queue !== null) this.superseded.abort();
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

/**
 * Acks in delivery order with `multiple`: a tag is acked once it and every earlier tag are
 * done, so one ack frame covers a whole committed batch and no tag is ever acked twice. A
 * refused tag is acked alone at once; a later `multiple` ack then ends at a tag not yet acked
 * (the broker closes the channel on an ack of an unknown tag).
 */
class AckWindow {
  private readonly order: number[] = [];
  private readonly finished = new Set<number>();
  /** Finished tags already acked on their own (refused ones). */
  private readonly acked = new Set<number>();

  constructor(
    private readonly channel: Channel,
    private readonly live: () => boolean,
    private readonly onAcked: (n: number, stored: boolean) => void,
  ) {}

  expect(tag: number): void {
    this.order.push(tag);
  }

  /** A delivery that can never be taken in: acked now, whatever before it is still in progress. */
  refused(tag: number): void {
    if (!this.live()) {
      this.done(tag);
      return;
    }
    try {
      this.channel.ack({ fields: { deliveryTag: tag } } as Msg, false);
      this.acked.add(tag);
      this.onAcked(1, false);
    } catch {
      // The channel closed meanwhile: the broker redelivers, and it is refused again.
    }
    this.done(tag);
  }

  done(tag: number): void {
    this.finished.add(tag);
    let upTo: number | null = null;
    let n = 0;
    while (this.order.length > 0 && this.finished.has(this.order[0] as number)) {
      const head = this.order.shift() as number;
      this.finished.delete(head);
      if (this.acked.delete(head)) continue;
      upTo = head;
      n++;
    }
    if (upTo === null || !this.live()) return;
    try {
      this.channel.ack({ fields: { deliveryTag: upTo } } as Msg, true);
      this.onAcked(n, true);
    } catch {
      // The channel closed meanwhile: the broker redelivers, de-duplication absorbs it.
    }
  }
}
