import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { StatscacheError } from '../actors/errors.js';
import { isInterval } from '../actors/interval.js';
import { DEFAULT_MAX_KEYS as DEFAULT_PLUGIN_MAX_KEYS } from '../actors/plugin-runtime.js';
import { DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS } from './envelope-limits.js';
import { DEFAULT_MAX_FANOUT } from './meta/index.js';
import { LOG_LEVELS } from './logger.js';

const interval = (message: string) => z.string().refine(isInterval, message);
const amqpUrl = z.string().regex(/^amqps?:\/\/\S+$/, 'must be an AMQP URL like amqps://user:@host/%2Fvhost');
const endpoint = z.string().regex(/^(tcp|ipc|inproc):\/\/\S+$/, 'must be a ZeroMQ endpoint like tcp://127.0.0.1:2003');

/** Every setting, its type, bounds and default. The README's settings table mirrors this. */
export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    connect: z.array(endpoint).default([]),
    /** Default (when neither bind nor connect is given): fedmsg-relay's inbound tcp://127.0.0.1:2003. */
    bind: z.array(endpoint).optional(),
    topic: z.array(z.string()).min(1).default(['']),
    dataDir: z.string().min(1).default('data'),
    snapshotInterval: z.coerce.number().positive().max(86_400).default(30),
    maxFrameBytes: z.coerce.number().int().min(64).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Deepest nesting of objects/arrays in one envelope; deeper ones are counted (too_deep) and skipped. */
    maxMessageDepth: z.coerce.number().int().min(8).max(1024).default(DEFAULT_MAX_DEPTH),
    /** Most object members plus array elements in one envelope (too_many_keys). */
    maxMessageKeys: z.coerce.number().int().min(1000).max(10_000_000).default(DEFAULT_MAX_KEYS),
    /** Seconds a message timestamp may run ahead of the wall clock (future_timestamp beyond it). */
    maxClockSkew: z.coerce.number().min(0).max(86_400).default(DEFAULT_MAX_CLOCK_SKEW),
    /** Usernames and packages kept per message (the rest are cut and counted). */
    maxFanout: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_MAX_FANOUT),
    /** Keys per plugin container: rows beyond it evict the oldest, a store beyond it drops the message. */
    pluginMaxKeys: z.coerce.number().int().min(100).max(100_000_000).default(DEFAULT_PLUGIN_MAX_KEYS),
    wsTickMs: z.coerce.number().int().min(10).max(10_000).default(100),
    /** Live push (WebSocket and SSE) limits; see the README's live-push section. */
    wsMaxSubscriptions: z.coerce.number().int().min(1).max(10_000).default(64),
    wsMaxConnectionsPerIp: z.coerce.number().int().min(1).max(1_000_000).default(256),
    /** Subscriptions (WebSocket and SSE together) one client IP may hold; at most half of wsMaxViews (checked below). */
    wsMaxSubscriptionsPerIp: z.coerce.number().int().min(1).max(1_000_000).default(100),
    /** Live views open at once, for every client together; a view is shared by all subscribers of the same parameters. */
    wsMaxViews: z.coerce.number().int().min(2).max(1_000_000).default(1000),
    /** Bytes queued for one client before it gets coalesced snapshots instead of every frame. */
    wsMaxBufferedBytes: z.coerce.number().int().min(16 * 1024).max(1024 ** 3).default(1024 * 1024),
    /** Seconds a client may stay over wsMaxBufferedBytes before it is closed (code 4008). */
    wsSlowTimeoutSeconds: z.coerce.number().positive().max(3600).default(10),
    /** Largest frame a client may send; a bigger one closes the connection (code 1009). */
    wsMaxFrameBytes: z.coerce.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
    /** Seconds without traffic (pings included) before a WebSocket is reaped; 0 disables. uWS needs 0 or >= 8. */
    wsIdleTimeoutSeconds: z.coerce.number().int().min(0).max(960).refine((n) => n === 0 || n >= 8, 'must be 0 or at least 8').default(60),
    /** Update frames kept per view for resume; an older gap gets a fresh snapshot. */
    wsResumeFrames: z.coerce.number().int().min(0).max(100_000).default(256),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Filtered `/raw` scans (user=, contains=…) running at once; each reads its whole time window. */
    historyScanConcurrency: z.coerce.number().int().min(1).max(64).default(2),
    /** Filtered scans waiting for a slot; more are answered 503 scan_busy with Retry-After. */
    historyScanQueue: z.coerce.number().int().min(0).max(10_000).default(8),
    /** Seconds a filtered scan may take from arrival (queue wait included) before it is answered 503 scan_timeout. */
    historyScanTimeoutSeconds: z.coerce.number().positive().max(3600).default(10),
    /** A datagrepper `/raw` URL to backfill from after downtime and gaps; null: no backfill. */
    datagrepper: z.url({ protocol: /^https?$/ }).nullable().default(null),
    /** Seconds re-fetched before the journal's newest message when backfilling (late arrivals). */
    backfillOverlap: z.coerce.number().min(0).max(86_400).default(600),
    /**
     * Seconds a slow or unreachable history may hold start-up: then live intake opens and
     * /readyz answers 200 with a `degraded` reason while the backfill goes on in the background.
     */
    readyTimeout: z.coerce.number().min(0).max(86_400).default(30),
    /** Least seconds between two gap backfills; gaps suspected meanwhile are merged into the next one. */
    gapBackfillInterval: z.coerce.number().min(0.05).max(3600).default(30),
    /** AMQP 0-9-1 brokers to consume (fedora-messaging); see the README's AMQP section. */
    amqp: z.array(amqpUrl).default([]),
    /** Routing keys bound on amq.topic (`*` one word, `#` any). */
    amqpBinding: z.array(z.string().min(1).max(255)).min(1).default(['#']),
    /** A durable named queue (private brokers); null: server-named, exclusive, auto-delete. */
    amqpQueue: z.string().min(1).max(255).nullable().default(null),
    /** Unacked deliveries the broker may send ahead (basic.qos). */
    amqpPrefetch: z.coerce.number().int().min(1).max(65_535).default(25),
    /** AMQP heartbeat seconds proposed to the broker; 0 disables. */
    amqpHeartbeat: z.coerce.number().int().min(0).max(3600).default(30),
    /** PEM files: the broker's CA, and a client certificate + key (which switch the login to SASL EXTERNAL). */
    amqpCa: z.string().min(1).nullable().default(null),
    amqpCert: z.string().min(1).nullable().default(null),
    amqpKey: z.string().min(1).nullable().default(null),
    /** Longest wait between reconnect attempts, in seconds (back-off doubles from 0.5 s, with jitter). */
    amqpReconnectMax: z.coerce.number().min(1).max(3600).default(60),
    /** Snapshot generations kept (each in its own slot); a damaged one falls back to the previous. */
    snapshotGenerations: z.coerce.number().int().min(1).max(16).default(3),
    /** Journal entries older than this (by message time) are dropped once a snapshot covers them. */
    journalMaxAge: interval('must be a non-zero interval like 7d or 12h').default('7d'),
    /** Journal size cap in bytes, enforced the same way. */
    journalMaxBytes: z.coerce.number().int().min(1024 * 1024).default(2 * 1024 ** 3),
    /** Message ids kept in memory for de-duplication (older ones are looked up in the journal). */
    dedupeWindow: z.coerce.number().int().min(1000).max(10_000_000).default(200_000),
    /** Bearer token for the admin routes (POST /admin/snapshot); null disables them. */
    adminToken: z.string().min(16, 'must be at least 16 characters').nullable().default(null),
    /** Seconds a graceful stop may take before the process exits anyway. */
    stopTimeout: z.coerce.number().positive().max(600).default(20),
    /** External plugins: npm package names or paths of local modules (config file only). */
    plugins: z.array(z.string().min(1)).default([]),
    /** Retention overrides, keyed by ident (`volume-1s`) or interval (`1s`): how far back rows are kept. */
    retention: z.record(z.string(), interval('must be a non-zero interval like 6h or 30d')).default({}),
    /** Serve the built browser examples (dist/examples) under /examples/. */
    examples: z.union([z.boolean(), z.stringbool()]).default(false),
  })
  .strict()
  // One client must never be able to take every live view from the others.
  .refine((c) => c.wsMaxSubscriptionsPerIp <= Math.floor(c.wsMaxViews / 2), {
    path: ['wsMaxSubscriptionsPerIp'],
    message: 'must be at most half of wsMaxViews (--ws-max-views), so one client IP cannot take every live view',
  });

export const DEFAULT_BIND = 'tcp://127.0.0.1:2003';

export type Config = Readonly<Omit<z.infer<typeof ConfigSchema>, 'bind'> & { bind: readonly string[] }>;
export type ConfigKey = keyof Config;

/** Environment variable per setting; lists are comma-separated. */
export const ENV_NAMES: Readonly<Record<ConfigKey, string>> = {
  host: 'STATSCACHE_HOST',
  port: 'STATSCACHE_PORT',
  connect: 'STATSCACHE_CONNECT',
  bind: 'STATSCACHE_BIND',
  topic: 'STATSCACHE_TOPIC',
  dataDir: 'STATSCACHE_DATA_DIR',
  snapshotInterval: 'STATSCACHE_SNAPSHOT_INTERVAL',
  maxFrameBytes: 'STATSCACHE_MAX_FRAME_BYTES',
  maxMessageDepth: 'STATSCACHE_MAX_MESSAGE_DEPTH',
  maxMessageKeys: 'STATSCACHE_MAX_MESSAGE_KEYS',
  maxClockSkew: 'STATSCACHE_MAX_CLOCK_SKEW',
  maxFanout: 'STATSCACHE_MAX_FANOUT',
  pluginMaxKeys: 'STATSCACHE_PLUGIN_MAX_KEYS',
  wsTickMs: 'STATSCACHE_WS_TICK_MS',
  wsMaxSubscriptions: 'STATSCACHE_WS_MAX_SUBSCRIPTIONS',
  wsMaxConnectionsPerIp: 'STATSCACHE_WS_MAX_CONNECTIONS_PER_IP',
  wsMaxSubscriptionsPerIp: 'STATSCACHE_WS_MAX_SUBSCRIPTIONS_PER_IP',
  wsMaxViews: 'STATSCACHE_WS_MAX_VIEWS',
  wsMaxBufferedBytes: 'STATSCACHE_WS_MAX_BUFFERED_BYTES',
  wsSlowTimeoutSeconds: 'STATSCACHE_WS_SLOW_TIMEOUT_SECONDS',
  wsMaxFrameBytes: 'STATSCACHE_WS_MAX_FRAME_BYTES',
  wsIdleTimeoutSeconds: 'STATSCACHE_WS_IDLE_TIMEOUT_SECONDS',
  wsResumeFrames: 'STATSCACHE_WS_RESUME_FRAMES',
  logLevel: 'STATSCACHE_LOG_LEVEL',
  historyScanConcurrency: 'STATSCACHE_HISTORY_SCAN_CONCURRENCY',
  historyScanQueue: 'STATSCACHE_HISTORY_SCAN_QUEUE',
  historyScanTimeoutSeconds: 'STATSCACHE_HISTORY_SCAN_TIMEOUT_SECONDS',
  datagrepper: 'STATSCACHE_DATAGREPPER',
  backfillOverlap: 'STATSCACHE_BACKFILL_OVERLAP',
  readyTimeout: 'STATSCACHE_READY_TIMEOUT',
  gapBackfillInterval: 'STATSCACHE_GAP_BACKFILL_INTERVAL',
  amqp: 'STATSCACHE_AMQP',
  amqpBinding: 'STATSCACHE_AMQP_BINDING',
  amqpQueue: 'STATSCACHE_AMQP_QUEUE',
  amqpPrefetch: 'STATSCACHE_AMQP_PREFETCH',
  amqpHeartbeat: 'STATSCACHE_AMQP_HEARTBEAT',
  amqpCa: 'STATSCACHE_AMQP_CA',
  amqpCert: 'STATSCACHE_AMQP_CERT',
  amqpKey: 'STATSCACHE_AMQP_KEY',
  amqpReconnectMax: 'STATSCACHE_AMQP_RECONNECT_MAX',
  snapshotGenerations: 'STATSCACHE_SNAPSHOT_GENERATIONS',
  journalMaxAge: 'STATSCACHE_JOURNAL_MAX_AGE',
  journalMaxBytes: 'STATSCACHE_JOURNAL_MAX_BYTES',
  dedupeWindow: 'STATSCACHE_DEDUPE_WINDOW',
  adminToken: 'STATSCACHE_ADMIN_TOKEN',
  stopTimeout: 'STATSCACHE_STOP_TIMEOUT',
  plugins: 'STATSCACHE_PLUGINS',
  retention: 'STATSCACHE_RETENTION',
  examples: 'STATSCACHE_EXAMPLES',
};

const LISTS: ReadonlySet<ConfigKey> = new Set(['connect', 'bind', 'topic', 'plugins', 'amqp', 'amqpBinding']);
/** Settings given in the environment as JSON objects. */
const OBJECTS: ReadonlySet<ConfigKey> = new Set(['retention']);

/** The CLI flag per setting, for error messages. */
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export interface ConfigSources {
  /** Below the config file: a command's own defaults (`demo` keeps its data apart from `serve`'s). */
  readonly defaults?: Partial<Record<ConfigKey, unknown>>;
  readonly flags?: Partial<Record<ConfigKey, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (from --config or STATSCACHE_CONFIG). */
  readonly file?: string | undefined;
}

/**
 * Precedence, lowest to highest: built-in defaults, config file, environment, flags.
 * Parsed and validated once, then frozen; a bad value throws SC_CONFIG_INVALID naming the
 * setting and where it came from.
 */
export function loadConfig(sources: ConfigSources): Config {
  const origin: Partial<Record<string, string>> = {};
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sources.defaults ?? {})) if (value !== undefined) merged[key] = value;
  const path = sources.file ?? sources.env?.['STATSCACHE_CONFIG'];
  if (path) {
    for (const [k, v] of Object.entries(readConfigFile(path))) {
      merged[k] = v;
      origin[k] = `config file ${path}`;
    }
  }
  for (const [key, name] of Object.entries(ENV_NAMES) as [ConfigKey, string][]) {
    const raw = sources.env?.[name];
    if (raw === undefined || raw === '') continue;
    merged[key] = LISTS.has(key) ? raw.split(',').map((s) => s.trim()) : OBJECTS.has(key) ? parseJsonEnv(name, raw) : raw;
    origin[key] = `environment ${name}`;
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    merged[key] = value;
    origin[key] = `flag ${flagOf(key)}`;
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? (issue as { keys?: string[] } | undefined)?.keys?.[0] ?? '?');
    const from = origin[key] ?? 'config file';
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "${key}" (${from}): ${issue?.message ?? 'invalid'}${key in merged ? `, got ${JSON.stringify(merged[key])}` : ''}`);
  }
  const data = parsed.data;
  if ((data.amqpCert === null) !== (data.amqpKey === null)) {
    const key = data.amqpCert === null ? 'amqpCert' : 'amqpKey';
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "${key}": a client certificate needs its key (--amqp-cert and --amqp-key go together)`);
  }
  // A consumer that connects somewhere (ZeroMQ or AMQP) needs no inbound socket; one given nothing gets fedmsg-relay's.
  const bind = data.bind ?? (data.connect.length === 0 && data.amqp.length === 0 ? [DEFAULT_BIND] : []);
  return deepFreeze({ ...data, bind }) as Config;
}

function parseJsonEnv(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new StatscacheError('SC_CONFIG_INVALID', `environment ${name} must be a JSON object, got ${JSON.stringify(raw)}`);
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
