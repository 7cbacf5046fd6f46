/** The HTTP, WebSocket and SSE side's settings: where it listens, what each client and all of them may hold, history scans. */
import * as z from 'zod';
import { isProxyRange } from './http/client-address.js';
import { DEFAULT_IPV6_CLIENT_PREFIX } from './http/client-network.js';
import { DEFAULT_HELD_ANSWERS_MAX_BYTES, DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT } from './http/held-bodies.js';
import { DEFAULT_MAX_PAGE_DEPTH, MAX_ROWS_PER_PAGE } from './http/query-params.js';
import { DEFAULT_MAX_NEW_VIEWS_PER_IP } from './http/view-budget.js';
import { DEFAULT_MAX_FRAMES_PER_SECOND } from './http/ws-connection.js';
import { count, list, numeric, type Setting } from './setting-kinds.js';
import { MAX_ENTRIES } from './setting-list-bounds.js';

const proxyRange = () =>
  z.string().refine(isProxyRange, {
    error: (iss) => `${JSON.stringify(iss.input)} is not an IP address or CIDR range (like 127.0.0.1 or 10.0.0.0/8)`,
  });

/** Where HTTP and WebSocket listen, and whose X-Forwarded-For is believed. */
export const HTTP_LISTEN = {
  host: {
    type: () => z.string().min(1),
    default: '127.0.0.1',
    flag: '<address>',
    help: 'HTTP/WebSocket listen address',
  },
  port: {
    type: () => count(0, 65_535),
    default: 8080,
    flag: '<number>',
    help: 'HTTP port (`0` picks a free one; the start-up log says which)',
  },
  trustProxy: {
    kind: 'list',
    type: () => list(proxyRange(), MAX_ENTRIES.trustProxy),
    default: [],
    flag: '<address>',
    help: 'a reverse proxy (IP address or CIDR range; `127.0.0.1` for `deploy/nginx.conf` on the same host) whose `X-Forwarded-For` names the client: per-IP limits and log fields then use the rightmost address there that is not itself a trusted proxy. Without it, everyone behind the proxy shares its per-IP allowance. List only proxies you run: a client that connects from a trusted address can claim any IP. At most 256 (ranges, not hosts: a CIDR range covers a fleet), each tested per forwarded hop of every request',
  },
} as const satisfies Record<string, Setting>;

/** Bounds on pages, live views, connections and held answers, per client and for all together. */
export const HTTP_LIMITS = {
  maxPageDepth: {
    type: () => count(MAX_ROWS_PER_PAGE, 100_000_000),
    default: DEFAULT_MAX_PAGE_DEPTH,
    flag: '<rows>',
    help: "deepest row a page may reach (`page` × `rows_per_page`), for `/api/<ident>` and live views alike, as Elasticsearch's `index.max_result_window`: a page costs the rows before it, so a deeper one is `400 bad_parameter` naming `page`; narrow with `start`/`stop` (or `order=asc`) instead",
  },
  wsTickMs: {
    type: () => count(10, 10_000),
    default: 100,
    flag: '<ms>',
    help: 'WebSocket updates are coalesced over this many milliseconds; ticks fall on multiples of it of the wall clock, and the bus thread hands its batches over before each (see `--bus-linger`)',
  },
  wsMaxSubscriptions: {
    type: () => count(1, 10_000),
    default: 64,
    flag: '<n>',
    help: 'live subscriptions per WebSocket connection; see [Live push](#live-push-websocket-ws-and-server-sent-events)',
  },
  wsMaxConnectionsPerIp: {
    type: () => count(1, 1_000_000),
    default: 256,
    flag: '<n>',
    help: 'open WebSocket + SSE connections per client IP (over it: `429`)',
  },
  wsMaxConnections: {
    type: () => count(1, 1_000_000),
    default: 10_000,
    flag: '<n>',
    help: 'open WebSocket + SSE connections for all clients together (over it: `503` with `Retry-After`, `server_full`): many clients, each under its own per-IP cap, cannot take every file descriptor, and HTTP reads and health checks keep being answered',
  },
  ipv6ClientPrefix: {
    type: () => count(16, 128),
    default: DEFAULT_IPV6_CLIENT_PREFIX,
    flag: '<bits>',
    help: 'IPv6 clients are counted per network of this many leading bits by every per-IP limit (an ISP gives one subscriber a /64 or more: counted per address, one host could take any number of shares); `128` counts each address',
  },
  wsMaxSubscriptionsPerIp: {
    type: () => count(1, 1_000_000),
    default: 100,
    flag: '<n>',
    help: 'live subscriptions one client IP may hold, WebSocket subscriptions and SSE streams together; at most half of `--ws-max-views` (start-up refuses more)',
  },
  wsMaxFramesPerSecond: {
    type: () => count(1, 100_000),
    default: DEFAULT_MAX_FRAMES_PER_SECOND,
    flag: '<n>',
    help: 'frames one WebSocket client may send per second, sustained (twice as many at once: a page subscribing to all its views); past it the connection is closed with 1008',
  },
  wsMaxNewViewsPerIp: {
    type: () => count(1, 1_000_000),
    default: DEFAULT_MAX_NEW_VIEWS_PER_IP,
    flag: '<n>',
    help: 'live views one client IP may open per minute (a burst of this many, then refilled over the minute), WebSocket and SSE together: creating a view, or waking one nobody watched, computes it afresh; joining a view others watch is free (over it: `too_many_new_views`, `429` over SSE)',
  },
  wsMaxViews: {
    type: () => count(2, 1_000_000),
    default: 1000,
    flag: '<n>',
    help: 'live views open at once for all clients together (a view is shared by every subscriber of the same parameters)',
  },
  wsMaxBufferedBytes: {
    type: () => count(16 * 1024, 1024 ** 3),
    default: 1024 * 1024,
    flag: '<bytes>',
    help: 'bytes queued for a client before it only gets coalesced snapshots (4× is the hard limit)',
  },
  wsSlowTimeoutSeconds: {
    type: () => numeric(z.number().positive().max(3600)),
    default: 10,
    flag: '<seconds>',
    help: 'seconds a client may stay over `--ws-max-buffered-bytes` before it is closed with code 4008',
  },
  sseHeartbeatSeconds: {
    type: () => numeric(z.number().positive().max(3600)),
    default: 5,
    flag: '<seconds>',
    help: 'seconds an SSE stream may stay quiet before it is sent a `: keep-alive` comment (proxies and load balancers close a connection idle for long)',
  },
  wsMaxFrameBytes: {
    type: () => count(256, 16 * 1024 * 1024),
    default: 64 * 1024,
    flag: '<bytes>',
    help: 'largest frame a WebSocket client may send; a bigger one closes with 1009',
  },
  wsIdleTimeoutSeconds: {
    type: () => count(0, 960).refine((n) => n === 0 || n >= 8, 'must be 0 or at least 8'),
    default: 60,
    flag: '<seconds>',
    help: 'seconds without traffic (automatic pings included) before a WebSocket is reaped; `0` disables, else at least 8',
  },
  wsResumeFrames: {
    type: () => count(0, 100_000),
    default: 256,
    flag: '<n>',
    help: 'update frames kept per view so reconnecting clients can resume',
  },
  wsResumeBytes: {
    type: () => count(0, 64 * 1024 ** 3),
    default: 64 * 1024 * 1024,
    flag: '<bytes>',
    help: 'bytes of update frames kept for resuming, over all live views together: each view keeps at most 1 MiB and at most its share of this (this over the views open, `--ws-max-views` at most), so many views cannot hold `--ws-max-views` MiB; a client resuming from further back gets a fresh snapshot',
    defaultNote: '64 MiB',
  },
  httpMaxHeldBytes: {
    type: () => count(1024 * 1024, 64 * 1024 ** 3),
    default: DEFAULT_HELD_ANSWERS_MAX_BYTES,
    flag: '<bytes>',
    help: 'bytes of HTTP answers held for clients that read them slower than they are sent, over all connections (each body counted once, however many hold it); past it a connection that cannot take its answer at once is closed (`statscache_http_unread_closes_total`). One answer is always held whatever its size (a large `GET /admin/export`)',
    defaultNote: '256 MiB',
  },
  httpMaxHeldBytesPerClient: {
    type: () => count(1024 * 1024, 64 * 1024 ** 3),
    default: DEFAULT_HELD_ANSWERS_MAX_BYTES_PER_CLIENT,
    flag: '<bytes>',
    help: "bytes of HTTP answers held for one client's slow connections (per IP, IPv6 per `--ipv6-client-prefix` network), within `--http-max-held-bytes`: one client's non-reading connections cannot take the whole budget and have every other client's large answers closed. A client holding nothing may always hold one answer",
    defaultNote: '64 MiB',
  },
} as const satisfies Record<string, Setting>;

/** Filtered `/raw` scans: how many at once, waiting, and for how long. */
export const HISTORY_SCANS = {
  historyScanConcurrency: {
    type: () => count(1, 64),
    default: 2,
    flag: '<n>',
    help: 'filtered `/raw` scans (`user=`, `contains=`…) running at once, each reading its whole time window; see [History](#history-get-raw-and-get-id)',
  },
  historyScanQueue: {
    type: () => count(0, 10_000),
    default: 8,
    flag: '<n>',
    help: 'filtered scans waiting for a slot; more are answered `503 scan_busy` with `Retry-After`',
  },
  historyScanTimeoutSeconds: {
    type: () => numeric(z.number().positive().max(3600)),
    default: 10,
    flag: '<seconds>',
    help: 'longest a filtered scan may take, queue wait included; then `503 scan_timeout`',
  },
} as const satisfies Record<string, Setting>;
