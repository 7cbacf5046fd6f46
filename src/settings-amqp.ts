/** The AMQP (fedora-messaging) input's settings: brokers, bindings, queue, TLS and reconnects. */
import * as z from 'zod';
import { count, list, seconds, type Setting } from './setting-kinds.js';
import { MAX_ENTRIES } from './setting-list-bounds.js';

const amqpUrl = () => z.string().regex(/^amqps?:\/\/\S+$/, 'must be an AMQP URL like amqps://user:@host/%2Fvhost');

/**
 * A queue name or routing key: an AMQP short string, whose length goes in one byte. Bounded in
 * characters, 200 × '€' (600 bytes) passed, and amqplib wrote a malformed frame the broker closed
 * the connection for, on every reconnect, while the service said ready.
 */
const shortString = () =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const bytes = Buffer.byteLength(value);
      if (bytes > 255)
        ctx.addIssue({
          code: 'custom',
          message: `at most 255 bytes in UTF-8 (an AMQP short string), this is ${bytes}`,
        });
    });

/** One input per `--amqp` URL, all sharing these. */
export const AMQP = {
  amqp: {
    kind: 'list',
    type: () => list(amqpUrl(), MAX_ENTRIES.amqp),
    default: [],
    flag: '<url>',
    help: "AMQP 0-9-1 broker to consume, like a fedora-messaging consumer (e.g. `amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub`); see [Consuming Fedora's bus](#consuming-fedoras-bus-fedora-messaging--amqp). At most 64: each is a connection of its own",
  },
  amqpBinding: {
    kind: 'list',
    type: () => list(shortString(), MAX_ENTRIES.amqpBinding).min(1),
    default: ['#'],
    flag: '<key>',
    help: 'routing key bound on `amq.topic` (`*` one word, `#` any number); backfill skips topics no binding (nor a `--topic` prefix of a ZeroMQ bus in use) routes. At most 256: each is bound at every (re)connect, and a backfilled topic is matched against each in turn',
  },
  amqpQueue: {
    type: () => shortString().nullable(),
    default: null,
    flag: '<name>',
    help: 'a durable named queue (private brokers), so nothing is lost while statscache is down',
    defaultNote: 'server-named, exclusive, auto-delete',
  },
  amqpPrefetch: {
    type: () => count(1, 65_535),
    default: 25,
    flag: '<n>',
    help: 'unacked deliveries the broker may send ahead (`basic.qos`)',
  },
  amqpMaxHeld: {
    type: () => count(1, 10_000_000).nullable(),
    default: null,
    flag: '<n>',
    help: 'most deliveries one input holds in memory unacked across its connections (at least `--amqp-prefetch`): a server-named queue keeps what a lost connection delivered during the start-up hold; past the cap a new connection binds its queue and defers consuming until a whole window fits again (start-up ends), so the broker holds what arrives meanwhile',
    defaultText: '4 × `--amqp-prefetch`',
  },
  amqpThread: {
    type: () => z.union([z.boolean(), z.stringbool()]),
    default: true,
    flag: '<true|false>',
    help: 'decode, bound, hash and encode large deliveries (bodies of 4 KiB or more) on a thread of their own, so a flood of them does not hold HTTP reads, pushes and snapshots (a 700 KB body of 49 k unsorted keys cost the main thread 140-170 ms decoded there, 35-45 ms handed over: bench/amqp-intake.ts); smaller ones cost less decoded where they arrive than handed over. A thread that fails, hangs (`--thread-hang-timeout`, `--thread-start-timeout`) or exits is ended and leaves those it held, and every large one until a fresh thread is up, to the main thread, in delivery order, logged and counted (`statscache_intake_total{event="amqp_thread_failures"}`); `/healthz` and `/readyz` say degraded meanwhile. A fresh thread is started after 1 s, doubling to 60 s, at most `--amqp-thread-restarts` times in a row (`false`: all on the main thread)',
  },
  amqpInputThread: {
    type: () => z.union([z.boolean(), z.stringbool()]),
    default: true,
    flag: '<true|false>',
    help: "hold every `--amqp` input's connection on a thread of its own, as the bus thread holds ZeroMQ's sockets: amqplib's frame parsing, each delivery's decode, bounds, id and journal record are done there, and a turn's deliveries reach the main thread in one message; each is acked there only once the main thread committed and applied it (or refused it). A thread that fails, hangs (`--thread-hang-timeout`, `--thread-start-timeout`) or exits takes its connections with it (what it held unacked, the broker delivers again): the inputs read closed, and a fresh thread connects after 1 s, doubling to 60 s, at most `--amqp-thread-restarts` times in a row; past that, intake is stopped as when the bus thread dies: `/healthz` and `/readyz` answer 503 naming the thread, its failures and the bound, and `serve` stops (final snapshot) and exits 1 for its supervisor to restart it (the broker keeps a durable queue's deliveries for the next start). Used only on the system clock and without a custom meta deriver (else the main thread, and `--amqp-thread` for large deliveries). `false`: connections on the main thread",
  },
  amqpThreadRestarts: {
    type: () => count(0, 1000),
    default: 5,
    flag: '<n>',
    help: 'fresh AMQP prepare threads (`--amqp-thread`), or AMQP input threads (`--amqp-input-thread`), started in a row after one failed, hung or exited, each after a wait doubling from 1 s to 60 s; one that then serves 10 minutes starts the row again. Past it, for a prepare thread: large deliveries are decoded on the main thread until the service restarts, and `/healthz` and `/readyz` say degraded, naming the bound; for an input thread, whose inputs would take nothing in: intake is stopped, `/healthz` and `/readyz` answer 503 naming it, and `serve` stops (final snapshot) and exits 1, as when the bus thread dies (`0`: never started afresh)',
  },
  amqpHeartbeat: {
    type: () => count(0, 3600),
    default: 30,
    flag: '<seconds>',
    help: 'AMQP heartbeat proposed to the broker; `0` disables (a `?heartbeat=` in the URL wins)',
  },
  amqpCa: {
    type: () => z.string().min(1).nullable(),
    default: null,
    flag: '<file.pem>',
    help: "CA certificate(s) the broker's TLS certificate must chain to",
    defaultNote: 'system CAs',
  },
  amqpCert: {
    type: () => z.string().min(1).nullable(),
    default: null,
    flag: '<file.pem>',
    help: 'client certificate; with it the login is SASL EXTERNAL. Needs `--amqp-key`',
  },
  amqpKey: {
    type: () => z.string().min(1).nullable(),
    default: null,
    flag: '<file.pem>',
    help: 'private key of `--amqp-cert`',
  },
  amqpReconnectMax: {
    type: () => seconds(1, 3600),
    default: 60,
    flag: '<seconds>',
    help: 'longest wait between reconnect attempts (doubling from 0.5 s, with jitter)',
  },
} as const satisfies Record<string, Setting>;
