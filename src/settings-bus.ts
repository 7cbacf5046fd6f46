/** The ZeroMQ bus's settings: its sockets, the bounds of one message, and the bus thread with its queues. */
import * as z from 'zod';
import { DEFAULT_BUS_QUEUE_MAX } from './bus-queue.js';
import {
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_KEYS,
  MAX_MESSAGE_DEPTH,
} from './envelope-limits.js';
import { MAX_TOPIC_LENGTH } from './decode-frames.js';
import { DEFAULT_MAX_FANOUT } from './meta/fanout.js';
import { count, list, seconds, type Setting } from './setting-kinds.js';
import { MAX_ENTRIES } from './setting-list-bounds.js';
import { type EndpointRole, endpointProblem } from './zmq-endpoint.js';

export const DEFAULT_BIND = 'tcp://127.0.0.1:2003';

const endpoint = (role: EndpointRole) =>
  z.string().superRefine((value, ctx) => {
    const problem = endpointProblem(value, role);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The SUB socket: where it connects or binds, and the topics it takes. */
export const BUS_SOURCES = {
  connect: {
    kind: 'list',
    type: () => list(endpoint('connect'), MAX_ENTRIES.connect),
    default: [],
    flag: '<endpoint>',
    help: 'SUB socket connects here, like a fedmsg consumer (e.g. `tcp://hub.fedoraproject.org:9940`); at most 1,024, which covers connecting to every publisher of a large fedmsg deployment directly, each a libzmq connection with its own buffers (see `--bus-queue-max-bytes`)',
  },
  bind: {
    kind: 'list',
    type: () => list(endpoint('bind'), MAX_ENTRIES.bind),
    flag: '<endpoint>',
    help: "SUB socket binds here, like fedmsg-relay's inbound side: publishers connect to it. `tcp://127.0.0.1:*` picks a free port (the start-up log says which). At most 64: each is a listening socket, and one per address family is the usual need",
    defaultText: `\`${DEFAULT_BIND}\` when neither \`--connect\` nor \`--amqp\` is given, else none`,
  },
  topic: {
    kind: 'list',
    // A longer prefix can never match: the bus takes in no topic past MAX_TOPIC_LENGTH (decode-frames.ts).
    type: () =>
      list(
        z.string().max(MAX_TOPIC_LENGTH, {
          error: (iss) =>
            `a prefix of ${String(iss.input).length} characters, at most ${MAX_TOPIC_LENGTH}: no topic taken in is longer, so it could never match`,
        }),
        MAX_ENTRIES.topic,
      ).min(1),
    default: [''],
    flag: '<prefix>',
    help: 'topic prefixes to subscribe to. The envelope\'s own topic must start with one too (a message whose first frame matched while its envelope names another topic is refused, `bad_topic`), and backfill skips other topics (`statscache_intake_total{event="backfill_unsubscribed"}`). At most 256: each message\'s topic is tested against each prefix in turn; each at most 255 characters, as the longest topic taken in',
    defaultNote: 'everything',
  },
} as const satisfies Record<string, Setting>;

/** Bounds on one message, whichever bus (or backfill) brings it. */
export const MESSAGE_LIMITS = {
  maxFrameBytes: {
    type: () => count(64, 64 * 1024 * 1024),
    default: DEFAULT_MAX_FRAME_BYTES,
    flag: '<bytes>',
    help: 'bus messages larger than this are counted and skipped; a frame over 4× this is refused by libzmq before it is read: on a `--bind` socket its publisher is disconnected (it reconnects), and a `--connect` socket is connected again to its relay (counted as `receive_errors`)',
  },
  maxMessageDepth: {
    type: () => count(8, MAX_MESSAGE_DEPTH),
    default: DEFAULT_MAX_DEPTH,
    flag: '<n>',
    help: "deepest object/array nesting in one envelope (8 to 1024); deeper ones are counted (`too_deep`) and skipped (see [bounds](#the-bus)). A message at 1024 is journaled, replayed, exported (`snapshot export`, `GET /admin/export`) and imported like any other; the bound stays below where msgpackr's encoder overflows the stack (~1,200 nested objects)",
  },
  maxMessageKeys: {
    type: () => count(1000, 10_000_000),
    default: DEFAULT_MAX_KEYS,
    flag: '<n>',
    help: 'most object members plus array elements in one envelope (`too_many_keys`)',
  },
  maxClockSkew: {
    type: () => seconds(0, 86_400),
    default: DEFAULT_MAX_CLOCK_SKEW,
    flag: '<seconds>',
    help: 'seconds a message timestamp may run ahead of the wall clock before it is refused (`future_timestamp`); every plugin retention must be longer than this plus its interval, and every window of message time at least this plus one slice (the built-in hour windows: at most 3540 s; start-up refuses otherwise)',
  },
  maxFanout: {
    type: () => count(1, 100_000),
    default: DEFAULT_MAX_FANOUT,
    flag: '<n>',
    help: 'usernames and packages kept per message; the rest are cut and counted',
  },
} as const satisfies Record<string, Setting>;

/** The bus thread and the queues between the publisher and the plugins. */
export const BUS_THREAD = {
  busThread: {
    type: () => z.union([z.boolean(), z.stringbool()]),
    default: true,
    flag: '<true|false>',
    help: 'receive and decode ZeroMQ messages on a second thread, so decoding and applying use both cores (`false`: all on the main thread)',
  },
  busLinger: {
    type: () => count(0, 1000),
    default: 25,
    flag: '<ms>',
    help: "longest the bus thread holds a received message to hand it over with the ones that follow: at a trickle it sleeps through this time once per batch and then reads what came meanwhile back to back, so fewer and larger batches cost each message less CPU (thread hand-overs, journal commits, each plugin's code brought back into cache); a batch still goes before the next WebSocket tick (`--ws-tick-ms`, which falls on multiples of the wall clock), so lingering delays no live push, only what HTTP readers see, and by at most this; a batch that fills while reading (512) goes at once (`0`: hand over on the next turn)",
  },
  busQueueMax: {
    type: () => count(100, 10_000_000),
    default: DEFAULT_BUS_QUEUE_MAX,
    flag: '<n>',
    help: "bus messages received and not yet taken in that libzmq queues per `--connect` endpoint (ZMQ_RCVHWM); each publisher connected to a `--bind` socket gets a sixteenth of it: past it libzmq stops reading that connection and the publisher's send queue drops what it cannot hold, so a publisher faster than the plugins apply costs bounded memory (about this many times the messages' size) instead of growing until the OOM killer. The loss is not silent: relays number their stream (`seq_id`), so the hole is counted (`statscache_intake_total{event=\"seq_missing\"}`) and backfilled from `--datagrepper` when one is set. fedmsg's own default is unbounded",
  },
  busKeepalive: {
    type: () => count(1, 7200),
    default: 60,
    flag: '<seconds>',
    help: "silence on a bus connection (a `--connect` endpoint, or a publisher connected to a `--bind` socket) after which TCP keepalive probes it, every min(5, this) seconds: 3 probes unanswered end the connection, libzmq connects again, `/readyz` says the endpoint is not connected meanwhile, and what was published in between is backfilled from `--datagrepper` (fedmsg's own 60, 5 and 3). With Linux's default of 2 hours, a connection whose publisher vanished without a word (its host lost power, a partition, a NAT or firewall that dropped the idle connection's state) stayed `connected` on `/readyz` while nothing came in, and the restarted publisher was never connected to",
  },
  busQueueMaxBytes: {
    type: () => count(1024 * 1024, 2 ** 50).nullable(),
    default: null,
    flag: '<bytes>',
    help: 'bytes of bus messages received and not yet applied, at most: half for libzmq, whose queue per connection (`--connect` endpoint, or each of up to 16 publishers on a `--bind` socket) is then cut to the messages of 2 frames at 4× `--max-frame-bytes` that fit its share (`--bus-queue-max` still caps it), half for what the bus thread has handed over and the intake not yet committed and applied, counted in bytes (a burst of small messages waits there, up to `--bus-queue-max` of them). At the bound the service stops reading, and the publisher drops what it cannot hold (counted as `seq_missing`, backfilled from `--datagrepper`). Start-up refuses a budget under 32 × `--max-frame-bytes` per connection (512 MiB with a `--bind` socket at the default frame cap). See *Memory of the bus queue* in docs/deployment.md',
    defaultText: 'none: bounded in messages only (`--bus-queue-max`)',
  },
} as const satisfies Record<string, Setting>;
