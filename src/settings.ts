import * as z from 'zod';
import { isBoundedInterval } from '../actors/interval.js';
import { DEFAULT_MAX_KEYS_TOTAL } from '../actors/key-budget.js';
import { DEFAULT_MAX_KEYS as DEFAULT_PLUGIN_MAX_KEYS } from '../actors/key-budget.js';
import { MAX_BACKLOG_BYTES } from '../snapshots/journal-backlog.js';
import { isProxyRange } from './http/client-address.js';
import { DEFAULT_IPV6_CLIENT_PREFIX } from './http/client-network.js';
import {
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_KEYS,
} from './envelope-limits.js';
import { DEFAULT_MAX_PAGE_DEPTH, isDecimal, MAX_ROWS_PER_PAGE } from './http/query-params.js';
import { DEFAULT_HELD_ANSWERS_MAX_BYTES, DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT } from './http/held-bodies.js';
import { DEFAULT_MAX_NEW_VIEWS_PER_IP } from './http/view-budget.js';
import { DEFAULT_MAX_FRAMES_PER_SECOND } from './http/ws-connection.js';
import { LOG_LEVELS } from './log-levels.js';
import { DEFAULT_MAX_FANOUT } from './meta/fanout.js';
import { DEFAULT_BUS_QUEUE_MAX } from './bus-queue.js';
import { PROBE_TO, THREADED_REPLAY_MIN } from './replay-thresholds.js';
import { type EndpointRole, endpointProblem } from './zmq-endpoint.js';

/**
 * One entry per setting, and the only place a setting is declared: the config schema, the
 * environment name, the CLI flag with its --help line and the README's settings table are all
 * derived from it (src/setting-derive.ts). Adding a setting is adding an entry here.
 */
export interface Setting {
  /** Type, bounds and default (a list type is a repeatable flag and comma-separated in the environment). */
  readonly type: z.ZodType;
  /** Placeholder of the flag `--<kebab-case key>` (`''`: a switch without a value); null: config file and environment only. */
  readonly flag: string | null;
  /** What it does, in Markdown: the README's "meaning" column, and the --help line with the Markdown removed. */
  readonly help: string;
  /** Appended to the schema default in brackets, in Markdown, when the value alone does not say enough. */
  readonly defaultNote?: string;
  /** Replaces the schema default (Markdown), for a default that depends on other settings. */
  readonly defaultText?: string;
}

export const DEFAULT_BIND = 'tcp://127.0.0.1:2003';
/** `demo`'s data dir (a source below the config file), so made-up traffic never mixes with `serve`'s. */
export const DEMO_DEFAULTS = { dataDir: 'data-demo', examples: true } as const;

const interval = (message: string) => z.string().refine(isBoundedInterval, message);
const amqpUrl = z.string().regex(/^amqps?:\/\/\S+$/, 'must be an AMQP URL like amqps://user:@host/%2Fvhost');
const endpoint = (role: EndpointRole) =>
  z.string().superRefine((value, ctx) => {
    const problem = endpointProblem(value, role);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
const proxyRange = z.string().refine(isProxyRange, {
  error: (iss) => `${JSON.stringify(iss.input)} is not an IP address or CIDR range (like 127.0.0.1 or 10.0.0.0/8)`,
});
/**
 * Flags and the environment give strings: one written as a decimal number is read as that
 * number; anything else stays as it is and fails as not a number. z.coerce read "" and " " as
 * 0 (an unset variable in a unit file gave a random port and a zero clock skew), true as 1,
 * null and [] as 0, and 0x1F90 as 8080.
 */
const decimal = (v: unknown): unknown => (typeof v === 'string' && isDecimal(v.trim()) ? Number(v.trim()) : v);
const numeric = <T extends z.ZodNumber>(inner: T) => z.preprocess(decimal, inner);
const count = (min: number, max: number) => numeric(z.number().int().min(min).max(max));
const seconds = (min: number, max: number) => numeric(z.number().min(min).max(max));

export const SETTINGS = {
  host: { type: z.string().min(1).default('127.0.0.1'), flag: '<address>', help: 'HTTP/WebSocket listen address' },
  port: {
    type: count(0, 65_535).default(8080),
    flag: '<number>',
    help: 'HTTP port (`0` picks a free one; the start-up log says which)',
  },
  trustProxy: {
    type: z.array(proxyRange).default([]),
    flag: '<address>',
    help: 'a reverse proxy (IP address or CIDR range; `127.0.0.1` for `deploy/nginx.conf` on the same host) whose `X-Forwarded-For` names the client: per-IP limits and log fields then use the rightmost address there that is not itself a trusted proxy. Without it, everyone behind the proxy shares its per-IP allowance. List only proxies you run: a client that connects from a trusted address can claim any IP',
  },
  connect: {
    type: z.array(endpoint('connect')).default([]),
    flag: '<endpoint>',
    help: 'SUB socket connects here, like a fedmsg consumer (e.g. `tcp://hub.fedoraproject.org:9940`)',
  },
  bind: {
    type: z.array(endpoint('bind')).optional(),
    flag: '<endpoint>',
    help: "SUB socket binds here, like fedmsg-relay's inbound side: publishers connect to it. `tcp://127.0.0.1:*` picks a free port (the start-up log says which)",
    defaultText: `\`${DEFAULT_BIND}\` when neither \`--connect\` nor \`--amqp\` is given, else none`,
  },
  topic: {
    type: z.array(z.string()).min(1).default(['']),
    flag: '<prefix>',
    help: 'topic prefixes to subscribe to. The envelope\'s own topic must start with one too (a message whose first frame matched while its envelope names another topic is refused, `bad_topic`), and backfill skips other topics (`statscache_intake_total{event="backfill_unsubscribed"}`)',
    defaultNote: 'everything',
  },
  dataDir: {
    type: z.string().min(1).default('data'),
    flag: '<path>',
    help: 'where the LMDB snapshot store lives (`.gitignore` covers `data/` and `data-demo/`). One process at a time: a second writer exits 2 with `SC_DATA_DIR_LOCKED` (see [Restoring state](#restoring-state-runbook))',
    defaultNote: `\`${DEMO_DEFAULTS.dataDir}\` for \`npm run demo\``,
  },
  snapshotInterval: {
    // At least 0.1 s: 1e-9 was accepted, a snapshot timer every turn (37% of a core idle).
    type: seconds(0.1, 86_400).default(30),
    flag: '<seconds>',
    help: 'seconds between snapshots (0.1 to 86400; one is also written on SIGTERM/SIGINT)',
  },
  maxFrameBytes: {
    type: count(64, 64 * 1024 * 1024).default(DEFAULT_MAX_FRAME_BYTES),
    flag: '<bytes>',
    help: 'bus messages larger than this are counted and skipped; a frame over 4× this is refused by libzmq before it is read: on a `--bind` socket its publisher is disconnected (it reconnects), and a `--connect` socket is connected again to its relay (counted as `receive_errors`)',
  },
  maxMessageDepth: {
    type: count(8, 1024).default(DEFAULT_MAX_DEPTH),
    flag: '<n>',
    help: 'deepest object/array nesting in one envelope; deeper ones are counted (`too_deep`) and skipped (see [bounds](#the-bus))',
  },
  maxMessageKeys: {
    type: count(1000, 10_000_000).default(DEFAULT_MAX_KEYS),
    flag: '<n>',
    help: 'most object members plus array elements in one envelope (`too_many_keys`)',
  },
  maxClockSkew: {
    type: seconds(0, 86_400).default(DEFAULT_MAX_CLOCK_SKEW),
    flag: '<seconds>',
    help: 'seconds a message timestamp may run ahead of the wall clock before it is refused (`future_timestamp`); every plugin retention must be longer than this plus its interval, and every window of message time at least this plus one slice (the built-in hour windows: at most 3540 s; start-up refuses otherwise)',
  },
  maxFanout: {
    type: count(1, 100_000).default(DEFAULT_MAX_FANOUT),
    flag: '<n>',
    help: 'usernames and packages kept per message; the rest are cut and counted',
  },
  pluginMaxKeys: {
    type: count(100, 100_000_000).default(DEFAULT_PLUGIN_MAX_KEYS),
    flag: '<n>',
    help: 'keys per plugin container (rows: the oldest are evicted; windowed counters: the oldest slices; other stores: the message is dropped)',
  },
  maxKeysTotal: {
    type: count(1_000, 1_000_000_000).default(DEFAULT_MAX_KEYS_TOTAL),
    flag: '<n>',
    help: 'keys all plugin containers may hold together (each key costs ~130–460 B of heap); once past it, checked every 256 messages (at the same messages on every replica), every container is held to its fair share of the budget: the largest give way first, as at `--plugin-max-keys`, and `/healthz` says degraded until the total falls below 90% of it',
  },
  pluginHangTimeout: {
    type: seconds(0, 86_400).default(60),
    flag: '<seconds>',
    help: "longest one plugin may spend on one message before the process is ended for it (a plugin's `update` that never returns holds every read and health probe): a watch thread records the plugin and the message's journal seq in `<data-dir>/hung-messages.json` and kills the process; the next start skips that message for that plugin (`dropped.hung`), for every plugin if two hung on it, and `/readyz` names it; the same thread writes down a message held over 250 ms (`<data-dir>/applying.json`), so a process that dies on one (out of memory) has it skipped from the second death; a plugin's custom `view` computing for one set of parameters this long is ended the same way, recorded as (plugin, parameters) in `<data-dir>/hung-views.json`, and the next start answers those parameters `500 view_hung` (HTTP, WebSocket, SSE) without calling the view, as it does from the first death when a run dies (out of memory) in a view call held over 250 ms (written down the same way), until the view's source or the plugin's `version` changes or a week has passed (`0`: none of this)",
  },
  maxPageDepth: {
    type: count(MAX_ROWS_PER_PAGE, 100_000_000).default(DEFAULT_MAX_PAGE_DEPTH),
    flag: '<rows>',
    help: "deepest row a page may reach (`page` × `rows_per_page`), for `/api/<ident>` and live views alike, as Elasticsearch's `index.max_result_window`: a page costs the rows before it, so a deeper one is `400 bad_parameter` naming `page`; narrow with `start`/`stop` (or `order=asc`) instead",
  },
  wsTickMs: {
    type: count(10, 10_000).default(100),
    flag: '<ms>',
    help: 'WebSocket updates are coalesced over this many milliseconds; ticks fall on multiples of it of the wall clock, and the bus thread hands its batches over before each (see `--bus-linger`)',
  },
  wsMaxSubscriptions: {
    type: count(1, 10_000).default(64),
    flag: '<n>',
    help: 'live subscriptions per WebSocket connection; see [Live push](#live-push-websocket-ws-and-server-sent-events)',
  },
  wsMaxConnectionsPerIp: {
    type: count(1, 1_000_000).default(256),
    flag: '<n>',
    help: 'open WebSocket + SSE connections per client IP (over it: `429`)',
  },
  wsMaxConnections: {
    type: count(1, 1_000_000).default(10_000),
    flag: '<n>',
    help: 'open WebSocket + SSE connections for all clients together (over it: `503` with `Retry-After`, `server_full`): many clients, each under its own per-IP cap, cannot take every file descriptor, and HTTP reads and health checks keep being answered',
  },
  ipv6ClientPrefix: {
    type: count(16, 128).default(DEFAULT_IPV6_CLIENT_PREFIX),
    flag: '<bits>',
    help: 'IPv6 clients are counted per network of this many leading bits by every per-IP limit (an ISP gives one subscriber a /64 or more: counted per address, one host could take any number of shares); `128` counts each address',
  },
  wsMaxSubscriptionsPerIp: {
    type: count(1, 1_000_000).default(100),
    flag: '<n>',
    help: 'live subscriptions one client IP may hold, WebSocket subscriptions and SSE streams together; at most half of `--ws-max-views` (start-up refuses more)',
  },
  wsMaxFramesPerSecond: {
    type: count(1, 100_000).default(DEFAULT_MAX_FRAMES_PER_SECOND),
    flag: '<n>',
    help: 'frames one WebSocket client may send per second, sustained (twice as many at once: a page subscribing to all its views); past it the connection is closed with 1008',
  },
  wsMaxNewViewsPerIp: {
    type: count(1, 1_000_000).default(DEFAULT_MAX_NEW_VIEWS_PER_IP),
    flag: '<n>',
    help: 'live views one client IP may open per minute (a burst of this many, then refilled over the minute), WebSocket and SSE together: creating a view, or waking one nobody watched, computes it afresh; joining a view others watch is free (over it: `too_many_new_views`, `429` over SSE)',
  },
  wsMaxViews: {
    type: count(2, 1_000_000).default(1000),
    flag: '<n>',
    help: 'live views open at once for all clients together (a view is shared by every subscriber of the same parameters)',
  },
  wsMaxBufferedBytes: {
    type: count(16 * 1024, 1024 ** 3).default(1024 * 1024),
    flag: '<bytes>',
    help: 'bytes queued for a client before it only gets coalesced snapshots (4× is the hard limit)',
  },
  wsSlowTimeoutSeconds: {
    type: numeric(z.number().positive().max(3600)).default(10),
    flag: '<seconds>',
    help: 'seconds a client may stay over `--ws-max-buffered-bytes` before it is closed with code 4008',
  },
  wsMaxFrameBytes: {
    type: count(256, 16 * 1024 * 1024).default(64 * 1024),
    flag: '<bytes>',
    help: 'largest frame a WebSocket client may send; a bigger one closes with 1009',
  },
  wsIdleTimeoutSeconds: {
    type: count(0, 960)
      .refine((n) => n === 0 || n >= 8, 'must be 0 or at least 8')
      .default(60),
    flag: '<seconds>',
    help: 'seconds without traffic (automatic pings included) before a WebSocket is reaped; `0` disables, else at least 8',
  },
  wsResumeFrames: {
    type: count(0, 100_000).default(256),
    flag: '<n>',
    help: 'update frames kept per view so reconnecting clients can resume',
  },
  wsResumeBytes: {
    type: count(0, 64 * 1024 ** 3).default(64 * 1024 * 1024),
    flag: '<bytes>',
    help: 'bytes of update frames kept for resuming, over all live views together: each view keeps at most 1 MiB and at most its share of this (this over the views open, `--ws-max-views` at most), so many views cannot hold `--ws-max-views` MiB; a client resuming from further back gets a fresh snapshot',
    defaultNote: '64 MiB',
  },
  httpMaxHeldBytes: {
    type: count(1024 * 1024, 64 * 1024 ** 3).default(DEFAULT_HELD_ANSWERS_MAX_BYTES),
    flag: '<bytes>',
    help: 'bytes of HTTP answers held for clients that read them slower than they are sent, over all connections (each body counted once, however many hold it); past it a connection that cannot take its answer at once is closed (`statscache_http_unread_closes_total`). One answer is always held whatever its size (a large `GET /admin/export`)',
    defaultNote: '256 MiB',
  },
  httpMaxHeldBytesPerClient: {
    type: count(1024 * 1024, 64 * 1024 ** 3).default(DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT),
    flag: '<bytes>',
    help: "bytes of HTTP answers held for one client's slow connections (per IP, IPv6 per `--ipv6-client-prefix` network), within `--http-max-held-bytes`: one client's non-reading connections cannot take the whole budget and have every other client's large answers closed. A client holding nothing may always hold one answer",
    defaultNote: '64 MiB',
  },
  logLevel: { type: z.enum(LOG_LEVELS).default('info'), flag: '<level>', help: 'log level' },
  historyScanConcurrency: {
    type: count(1, 64).default(2),
    flag: '<n>',
    help: 'filtered `/raw` scans (`user=`, `contains=`…) running at once, each reading its whole time window; see [History](#history-get-raw-and-get-id)',
  },
  historyScanQueue: {
    type: count(0, 10_000).default(8),
    flag: '<n>',
    help: 'filtered scans waiting for a slot; more are answered `503 scan_busy` with `Retry-After`',
  },
  historyScanTimeoutSeconds: {
    type: numeric(z.number().positive().max(3600)).default(10),
    flag: '<seconds>',
    help: 'longest a filtered scan may take, queue wait included; then `503 scan_timeout`',
  },
  datagrepper: {
    type: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null),
    flag: '<url>',
    help: "a datagrepper `/raw` or `/v2/search` URL (or another statscache's `/raw`) to backfill from after downtime and detected gaps",
  },
  bootstrap: {
    // The peer's paths are appended to it: a query or fragment made `?x=1/admin/export`.
    type: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !/[?#]/.test(u), 'must be a base URL without ?query or #fragment, like http://peer:8080')
      .nullable()
      .default(null),
    flag: '<peer url>',
    help: "a running peer's base URL: an empty data dir is first filled from the peer's newest snapshot (`GET /admin/export`, with this replica's adminToken; checksum verified), then backfilled from the peer's `/raw` before the replica reports ready; a data dir that already holds state ignores it",
  },
  backfillOverlap: {
    type: seconds(0, 86_400).default(600),
    flag: '<seconds>',
    help: 'seconds re-fetched before the newest journaled message (late and in-flight messages)',
  },
  readyTimeout: {
    type: seconds(0, 86_400).default(30),
    flag: '<seconds>',
    help: 'longest a slow or unreachable `--datagrepper` may keep start-up unready (0 to 86400); then live intake opens and `/readyz` answers 200 with a `degraded` reason while the backfill goes on in the background',
  },
  gapBackfillInterval: {
    type: seconds(0.05, 3600).default(30),
    flag: '<seconds>',
    help: 'least seconds between two gap backfills (0.05 to 3600); gaps suspected meanwhile are merged into the next one',
  },
  historyLag: {
    type: seconds(0, 3600).default(30),
    flag: '<seconds>',
    help: "how far the history's archive may run behind the bus (datanommer stores what the bus carried a little later): what every backfilled window (the start-up one, each gap's) held from this many seconds before it was read is fetched again once this long has passed since its end or the read, de-duplicated (0: never)",
  },
  amqp: {
    type: z.array(amqpUrl).default([]),
    flag: '<url>',
    help: "AMQP 0-9-1 broker to consume, like a fedora-messaging consumer (e.g. `amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub`); see [Consuming Fedora's bus](#consuming-fedoras-bus-fedora-messaging--amqp)",
  },
  amqpBinding: {
    type: z.array(z.string().min(1).max(255)).min(1).default(['#']),
    flag: '<key>',
    help: 'routing key bound on `amq.topic` (`*` one word, `#` any number); backfill skips topics no binding (nor a `--topic` prefix of a ZeroMQ bus in use) routes',
  },
  amqpQueue: {
    type: z.string().min(1).max(255).nullable().default(null),
    flag: '<name>',
    help: 'a durable named queue (private brokers), so nothing is lost while statscache is down',
    defaultNote: 'server-named, exclusive, auto-delete',
  },
  amqpPrefetch: {
    type: count(1, 65_535).default(25),
    flag: '<n>',
    help: 'unacked deliveries the broker may send ahead (`basic.qos`)',
  },
  amqpMaxHeld: {
    type: count(1, 10_000_000).nullable().default(null),
    flag: '<n>',
    help: 'most deliveries one input holds in memory unacked across its connections (at least `--amqp-prefetch`): a server-named queue keeps what a lost connection delivered during the start-up hold; past the cap a new connection binds its queue and defers consuming until a whole window fits again (start-up ends), so the broker holds what arrives meanwhile',
    defaultText: '4 × `--amqp-prefetch`',
  },
  amqpHeartbeat: {
    type: count(0, 3600).default(30),
    flag: '<seconds>',
    help: 'AMQP heartbeat proposed to the broker; `0` disables (a `?heartbeat=` in the URL wins)',
  },
  amqpCa: {
    type: z.string().min(1).nullable().default(null),
    flag: '<file.pem>',
    help: "CA certificate(s) the broker's TLS certificate must chain to",
    defaultNote: 'system CAs',
  },
  amqpCert: {
    type: z.string().min(1).nullable().default(null),
    flag: '<file.pem>',
    help: 'client certificate; with it the login is SASL EXTERNAL. Needs `--amqp-key`',
  },
  amqpKey: {
    type: z.string().min(1).nullable().default(null),
    flag: '<file.pem>',
    help: 'private key of `--amqp-cert`',
  },
  amqpReconnectMax: {
    type: seconds(1, 3600).default(60),
    flag: '<seconds>',
    help: 'longest wait between reconnect attempts (doubling from 0.5 s, with jitter)',
  },
  snapshotGenerations: {
    type: count(1, 16).default(3),
    flag: '<n>',
    help: 'snapshot generations kept; a damaged one falls back to the previous. Lowered, the slots past the new count are removed after the first snapshot at it',
  },
  journalMaxAge: {
    type: interval('must be a non-zero interval up to 36500d, like 7d or 12h').default('7d'),
    flag: '<interval>',
    help: 'journal retention by message age (only entries every kept snapshot covers are dropped; on a quiet bus a snapshot writes a generation of the unchanged state when older ones hold such entries back)',
  },
  journalMaxBytes: {
    type: numeric(
      z
        .number()
        .int()
        .min(1024 * 1024),
    ).default(2 * 1024 ** 3),
    flag: '<bytes>',
    help: 'journal size cap, enforced the same way',
    defaultNote: '2 GiB',
  },
  journalMaxHeldBytes: {
    type: count(4096, 4 * 1024 ** 3).default(MAX_BACKLOG_BYTES),
    flag: '<bytes>',
    help: 'journal records held in memory while the disk refuses writes, to be written again (runbook: Disk full); older ones past it are let go and reach the disk with the next snapshot, taken as soon as writes succeed again',
    defaultNote: '64 MiB',
  },
  dedupeWindow: {
    type: count(1000, 10_000_000).default(200_000),
    flag: null,
    help: 'message ids kept in memory for de-duplication (older ones are found in the journal index)',
  },
  adminToken: {
    type: z.string().min(16, 'must be at least 16 characters').nullable().default(null),
    flag: null,
    help: 'bearer token of `POST /admin/snapshot` (`statscache snapshot take`); none disables the admin routes',
  },
  stopTimeout: {
    type: numeric(z.number().positive().max(600)).default(20),
    flag: '<seconds>',
    help: 'longest graceful stop before the process exits anyway',
  },
  busThread: {
    type: z.union([z.boolean(), z.stringbool()]).default(true),
    flag: '<true|false>',
    help: 'receive and decode ZeroMQ messages on a second thread, so decoding and applying use both cores (`false`: all on the main thread)',
  },
  busLinger: {
    type: count(0, 1000).default(25),
    flag: '<ms>',
    help: "longest the bus thread holds a received message to hand it over with the ones that follow: at a trickle it sleeps through this time once per batch and then reads what came meanwhile back to back, so fewer and larger batches cost each message less CPU (thread hand-overs, journal commits, each plugin's code brought back into cache); a batch still goes before the next WebSocket tick (`--ws-tick-ms`, which falls on multiples of the wall clock), so lingering delays no live push, only what HTTP readers see, and by at most this; a batch that fills while reading (512) goes at once (`0`: hand over on the next turn)",
  },
  busQueueMax: {
    type: count(100, 10_000_000).default(DEFAULT_BUS_QUEUE_MAX),
    flag: '<n>',
    help: "bus messages received and not yet taken in that libzmq queues per `--connect` endpoint (ZMQ_RCVHWM); each publisher connected to a `--bind` socket gets a sixteenth of it: past it libzmq stops reading that connection and the publisher's send queue drops what it cannot hold, so a publisher faster than the plugins apply costs bounded memory (about this many times the messages' size) instead of growing until the OOM killer. The loss is not silent: relays number their stream (`seq_id`), so the hole is counted (`statscache_intake_total{event=\"seq_missing\"}`) and backfilled from `--datagrepper` when one is set. fedmsg's own default is unbounded",
  },
  busKeepalive: {
    type: count(1, 7200).default(60),
    flag: '<seconds>',
    help: "silence on a bus connection (a `--connect` endpoint, or a publisher connected to a `--bind` socket) after which TCP keepalive probes it, every min(5, this) seconds: 3 probes unanswered end the connection, libzmq connects again, `/readyz` says the endpoint is not connected meanwhile, and what was published in between is backfilled from `--datagrepper` (fedmsg's own 60, 5 and 3). With Linux's default of 2 hours, a connection whose publisher vanished without a word (its host lost power, a partition, a NAT or firewall that dropped the idle connection's state) stayed `connected` on `/readyz` while nothing came in, and the restarted publisher was never connected to",
  },
  busQueueMaxBytes: {
    type: count(1024 * 1024, 2 ** 50)
      .nullable()
      .default(null),
    flag: '<bytes>',
    help: 'bytes of bus messages received and not yet applied, at most: half for libzmq, whose queue per connection (`--connect` endpoint, or each of up to 16 publishers on a `--bind` socket) is then cut to the messages of 2 frames at 4× `--max-frame-bytes` that fit its share (`--bus-queue-max` still caps it), half for what the bus thread has handed over and the intake not yet committed and applied, counted in bytes (a burst of small messages waits there, up to `--bus-queue-max` of them). At the bound the service stops reading, and the publisher drops what it cannot hold (counted as `seq_missing`, backfilled from `--datagrepper`). Start-up refuses a budget under 32 × `--max-frame-bytes` per connection (512 MiB with a `--bind` socket at the default frame cap). See *Memory of the bus queue* in docs/deployment.md',
    defaultText: 'none: bounded in messages only (`--bus-queue-max`)',
  },
  replayThread: {
    type: z.union([z.boolean(), z.stringbool()]).default(true),
    flag: '<true|false>',
    help: `read, check and decode journal records for start-up replay on a second thread, so replay uses both cores; replay times its first ${PROBE_TO} records in windows and hands the rest over only when applying them costs the main thread more than that thread costs, and at least ${THREADED_REPLAY_MIN.toLocaleString('en-US')} are left (fewer finish sooner on the main thread) (\`false\`: all on the main thread)`,
  },
  threadHangTimeout: {
    type: seconds(0, 86_400).default(30),
    flag: '<seconds>',
    help: 'longest the bus thread or the replay thread may go without progress (a message or record handled) or a turn of its event loop (which an idle thread takes 10 times a second: a quiet bus or a thread waiting for the main thread is no hang) before it is taken for stuck, in an endless loop or a native call: the replay thread is ended and start-up replays the rest on the main thread (`statscache_intake_total{event="replay_thread_hangs"}`); a stuck bus thread is intake stopped, as a receive loop that ended: `/healthz` and `/readyz` answer 503 `intake stopped`, and `serve` stops (final snapshot) and exits 1 for its supervisor to restart it (`statscache_intake_total{event="bus_thread_hangs"}`); one stuck while it opens its sockets fails the start (`SC_BUS_THREAD_HUNG`, exit 1). (`0`: never)',
  },
  threadStartTimeout: {
    type: seconds(0, 86_400).default(30),
    flag: '<seconds>',
    help: 'longest the bus thread or the replay thread may take from its creation to its first sign of life, loading its modules (`--thread-hang-timeout` watches it from then on): one stuck before it (a module whose top-level code loops, a native module whose load blocks) is taken for stuck: a replay thread is ended and start-up replays on the main thread (`statscache_intake_total{event="replay_thread_hangs"}`); a bus thread fails the start (`SC_BUS_THREAD_HUNG`, exit 1) instead of holding it in `starting` for good. Far above what loading them takes: 0.37 to 0.84 s from creation to first sign of life, measured on a 2-core machine under a load average of 17. (`0`: never)',
  },
  diskHangTimeout: {
    type: seconds(0, 86_400).default(60),
    flag: '<seconds>',
    help: 'longest a journal commit or a snapshot write may wait on the disk before `/readyz` answers 503 `journal commit pending for <n> s` (or `snapshot write pending …`) and `/healthz` says degraded (still 200: a restart does not unwedge a disk): a disk that hangs (an NFS or iSCSI server gone, a device stuck) returns no error, and every message waits on that write before it is applied. A snapshot whose fill goes on writing is not waiting; its commit is. Above the worst fsync a healthy disk takes; `statscache_disk_write_pending_seconds{write}` gives the ages. (`0`: never)',
  },
  examples: {
    type: z.union([z.boolean(), z.stringbool()]).default(false),
    flag: '',
    help: 'serve the built browser examples under `/examples/` (see [Examples](#examples-pages-built-on-the-api))',
    defaultNote: 'on for `npm run demo`',
  },
  plugins: {
    type: z.array(z.string().min(1)).default([]),
    flag: null,
    help: "external plugins to load (npm package names or module paths, relative to the config file's folder, else the working directory)",
  },
  retention: {
    type: z.record(z.string(), interval('must be a non-zero interval up to 36500d, like 6h or 30d')).default({}),
    flag: null,
    help: 'retention overrides, by ident or interval: `{"1s": "2h", "volume-1m": "30d"}` (a JSON object in the environment)',
    defaultText: 'per plugin (see [Plugins](#plugins))',
  },
} as const satisfies Record<string, Setting>;

/** The config file is not a setting; its flag and variable are declared here for the CLI and the README. */
export const CONFIG_FILE = {
  flag: '--config',
  arg: '<file.json>',
  env: 'STATSCACHE_CONFIG',
  help: 'JSON config file, at most 1 MiB: an object with any of the config keys (above the defaults, below the environment and flags)',
} as const;
