/**
 * The AMQP input thread (started by amqp-input-thread.ts): every `--amqp` input's connection,
 * consumer and acks live here, as a ZeroMQ socket lives on the bus thread. Each delivery is
 * decoded, bounded, id'd and encoded here (amqp-prepare.ts), the turn's deliveries posted to the
 * main thread in one message (amqp-thread-outbox.ts); a delivery is acked only once the main
 * thread says it was committed and applied (or refused), one `multiple` ack per turn as before
 * (amqp-ack-window.ts). Reconnects, deferred consumes, held caps and the frame, codec and body
 * guards are AmqpInput's (amqp-bus.ts), unchanged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { capTables } from './amqp-codec-guard.js';
import { AmqpInput } from './amqp-bus.js';
import { AmqpBindingRecord } from './amqp-binding-record.js';
import type { Delivery } from './amqp-message.js';
import type { AmqpThreadData, FromAmqpThread, ToAmqpThread } from './amqp-thread-protocol.js';
import { ThreadOutbox } from './amqp-thread-outbox.js';
import { StatusPosts } from './amqp-thread-statuses.js';
import { Pulse } from './thread-pulse.js';

const port = parentPort;
if (!port) throw new Error('amqp-thread-worker.js runs as a worker thread (src/amqp-input-thread.ts starts it)');
const data = workerData as AmqpThreadData;
capTables(data.maxTableBytes);
const pulse = new Pulse(data.pulse);
pulse.keepBeating();
const post = (message: FromAmqpThread) => port.postMessage(message);

/**
 * Tests only: a routing key on which this thread exits (a first delivery only), once the turn's
 * batch holding it is posted, or with `settle`, once the main thread settled it (before its ack).
 */
const exitKey = process.env['STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_KEY'];
const exitAtSettle = process.env['STATSCACHE_TEST_AMQP_INPUT_THREAD_EXIT_AT'] === 'settle';
const doomed = new Set<number>();

const waiting = new Map<number, { resolve: (o: 'refused' | undefined) => void; reject: (e: Error) => void }>();
let nextId = 0;
/** Each connection's `superseded` signal, numbered as the main thread knows it. */
const conns = new WeakMap<AbortSignal, number>();
let nextConn = 0;
const outbox = new ThreadOutbox(data.limits, (items, buffer) => {
  port.postMessage(
    { kind: 'batch', items, buffer, statuses: statuses() } satisfies FromAmqpThread,
    buffer ? [items.items, buffer] : [items.items],
  );
});

function connOf(signal: AbortSignal, input: number): number {
  let conn = conns.get(signal);
  if (conn !== undefined) return conn;
  conn = nextConn++;
  conns.set(signal, conn);
  const n = conn;
  signal.addEventListener('abort', () => post({ kind: 'superseded', conn: n, input }), { once: true });
  return conn;
}

function onDelivery(input: number, delivery: Delivery, superseded: AbortSignal): Promise<'refused' | undefined> {
  pulse.beat();
  const id = nextId++;
  const settled = new Promise<'refused' | undefined>((resolve, reject) => waiting.set(id, { resolve, reject }));
  outbox.add(input, id, connOf(superseded, input), delivery);
  if (exitKey !== undefined && delivery.routingKey === exitKey && !delivery.redelivered) {
    if (exitAtSettle) doomed.add(id);
    else outbox.afterPost(() => process.exit(3));
  }
  return settled;
}

const inputs = data.inputs.map((o, i) => {
  const record = o.queue === null ? null : new AmqpBindingRecord(data.dataDir);
  const labels = new Set(data.inputs.map((x) => x.label));
  const tls = {
    ca: o.tls.ca && Buffer.from(o.tls.ca),
    cert: o.tls.cert && Buffer.from(o.tls.cert),
    key: o.tls.key && Buffer.from(o.tls.key),
  };
  return new AmqpInput(
    {
      url: o.url,
      bindings: o.bindings,
      queue: o.queue,
      prefetch: o.prefetch,
      maxHeld: o.maxHeld,
      maxBodyBytes: o.maxBodyBytes,
      heartbeatSeconds: o.heartbeatSeconds,
      tls,
      reconnect: o.reconnect,
      onDeferred: (status) => {
        // Its reason and count change without a change of state: onState does not carry them.
        postStatusesSoon();
        post({
          kind: 'log',
          level: 'warn',
          fields: { input: status.input, queue: status.queue, held: status.held, maxHeld: status.maxHeld },
          msg: 'AMQP consume deferred: held deliveries at the cap until start-up ends (the broker holds what arrives meanwhile)',
        });
      },
      onDelivery: (d, superseded) => onDelivery(i, d, superseded),
      onState: (status, previous) =>
        post({ kind: 'state', input: i, status: { ...status, held: inputs[i]?.current.held ?? 0 }, previous }),
      ...(record === null || o.queue === null
        ? {}
        : {
            bindingRecord: {
              previous: () => record.read(o.label, o.queue as string),
              record: (keys: readonly string[]) => {
                try {
                  record.write(o.label, o.queue as string, keys, labels);
                } catch (err) {
                  post({
                    kind: 'log',
                    level: 'warn',
                    fields: { input: o.label, queue: o.queue, err: String(err) },
                    msg: 'could not record the AMQP bindings (a later change may leave one stale)',
                  });
                }
              },
              unbound: (keys: readonly string[]) =>
                post({
                  kind: 'log',
                  level: 'info',
                  fields: { input: o.label, queue: o.queue, keys },
                  msg: 'AMQP bindings no longer configured removed from the queue',
                }),
            },
          }),
    },
    o.label,
  );
});

const statuses = () => inputs.map((input) => input.current);

/** Acks go out at the end of the turn the settlement arrived in (AckWindow); the counts after them. */
const statusPosts = new StatusPosts(() => post({ kind: 'statuses', statuses: statuses() }));
const postStatusesSoon = () => statusPosts.soon();

port.on('message', (message: ToAmqpThread) => {
  pulse.beat();
  switch (message.kind) {
    case 'start':
      for (const input of inputs) input.start();
      return;
    case 'settled': {
      if (doomed.size > 0 && message.ok.some((id) => doomed.has(id))) process.exit(3);
      for (const id of message.ok) settle(id)?.resolve(undefined);
      for (const id of message.refused) settle(id)?.resolve('refused');
      for (const [id, why] of message.failed) settle(id)?.reject(new Error(why));
      postStatusesSoon();
      return;
    }
    case 'close': {
      const input = inputs[message.input];
      if (input) void input.close().then(() => post({ kind: 'closed', input: message.input, status: input.current }));
      return;
    }
  }
});

function settle(id: number) {
  const w = waiting.get(id);
  waiting.delete(id);
  return w;
}

post({ kind: 'up' });
