import * as z from 'zod';
import { formatInterval } from '../../actors/interval.js';
import type { PluginHost } from '../../actors/plugin-host.js';
import { LIFECYCLE_STATES } from '../../actors/lifecycle.js';
import type { PluginRuntime, PluginStats } from '../../actors/plugin-runtime.js';
import { commonParams, paramDocs } from './param-docs.js';
import { pluginParamsSchema } from './query-params.js';

/**
 * The shapes of `GET /plugins` (one plugin, and the whole answer), published as OpenAPI
 * components. Built on first use: at module load, their ~60 zod schemas were CPU at every start
 * for /openapi.json alone.
 */
function buildSchemas() {
  const span = z
    .object({
      seconds: z.number().int().positive(),
      spelled: z.string().meta({ description: 'as in the ident: `1m`, `1d1h`' }),
    })
    .nullable();

  const paramDoc = z.object({
    name: z.string(),
    scope: z
      .enum(['common', 'plugin'])
      .meta({ description: "`common`: every view takes it; `plugin`: this plugin's own" }),
    description: z.string(),
    schema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema (2020-12) of the parsed value' }),
  });

  const pluginInfo = z.object({
    ident: z.string(),
    name: z.string(),
    summary: z.string(),
    description: z.string(),
    interval: span.meta({ description: 'bucket width; null for plugins without buckets' }),
    retention: span.meta({ description: 'how far back rows are kept, relative to the newest row; null: forever' }),
    columns: z.array(z.string()).meta({ description: 'row columns besides `timestamp`, in display order' }),
    key: z.array(z.string()).meta({ description: 'the columns that identify a row' }),
    parameters: z.array(paramDoc),
    formats: z.array(z.string()).meta({ description: 'media types `/api/<ident>` answers in' }),
    has_layout: z.boolean(),
    rows: z
      .number()
      .int()
      .nonnegative()
      .meta({ description: 'rows the view serves now with default parameters (all pages)' }),
    last_update: z
      .number()
      .nullable()
      .meta({ description: 'timestamp (epoch seconds) of the newest message applied since the service started' }),
    newest_row: z.number().nullable().meta({ description: 'timestamp of the newest row' }),
    digest: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .meta({
        description:
          "fingerprint of the plugin's whole state (rows and stores), kept incrementally on every write: replicas fed the same messages show the same digest, so a difference is divergence",
      }),
    lifecycle: z.enum(LIFECYCLE_STATES).meta({
      description:
        "the plugin actor's state: restoring (loading the snapshot), replaying (the journal), live, quarantined (too many update errors in a row: messages are dropped with reason `quarantined` until a cool-down in message time has passed), stopped",
    }),
    counters: z
      .object({
        received: z.number().int().nonnegative(),
        applied: z.number().int().nonnegative(),
        dropped: z.record(z.string(), z.number().int().nonnegative()).meta({
          description: 'messages skipped, by reason: update_error, expired, key_cap, key_too_long, quarantined, hung',
        }),
        evicted: z.number().int().nonnegative().meta({ description: 'rows removed by retention' }),
        cap_evicted: z.number().int().nonnegative().meta({
          description: 'oldest rows, and entries of oldest windowed-counter slices, removed to stay within key_cap',
        }),
        expired: z.number().int().nonnegative().meta({
          description: 'entries of expiring stores and windowed counters deleted as message time moved past them',
        }),
        max_keys: z
          .number()
          .int()
          .positive()
          .meta({ description: 'keys one container of this plugin may hold (--plugin-max-keys)' }),
        keys: z
          .number()
          .int()
          .nonnegative()
          .meta({ description: 'keys this plugin holds in all its containers (rows and stores)' }),
        key_cap: z.number().int().positive().meta({
          description:
            'keys one container may hold now: max_keys, or less while the key budget (--max-keys-total) is full',
        }),
      })
      .meta({ description: 'what the runtime counted for this plugin since the service started' }),
    links: z.object({
      rows: z.string(),
      layout: z.string().nullable(),
      stream: z.string().meta({ description: 'Server-Sent Events of row updates' }),
      websocket: z.string().meta({ description: 'send {"op":"subscribe","ident":"<ident>"}' }),
    }),
  });

  return { pluginInfo, discovery: z.object({ plugins: z.array(pluginInfo) }) };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;
export const discoverySchemas = (): ReturnType<typeof buildSchemas> => (schemas ??= buildSchemas());

export type PluginInfo = z.infer<ReturnType<typeof buildSchemas>['pluginInfo']>;
export type Discovery = z.infer<ReturnType<typeof buildSchemas>['discovery']>;

export const ROW_FORMATS = [
  'application/json',
  'text/json',
  'application/javascript',
  'text/javascript',
  'application/csv',
  'text/csv',
] as const;

const paramCache = new WeakMap<object, PluginInfo['parameters']>();

/** Common and plugin parameters; converted to JSON Schema once per plugin. */
export function parametersOf(runtime: PluginRuntime): PluginInfo['parameters'] {
  let params = paramCache.get(runtime.plugin);
  if (params === undefined) {
    params = [...commonParams(), ...paramDocs(pluginParamsSchema(runtime.plugin), 'plugin')];
    paramCache.set(runtime.plugin, params);
  }
  return params;
}

const spanOf = (seconds: number | null) => (seconds === null ? null : { seconds, spelled: formatInterval(seconds) });

const infoCache = new WeakMap<PluginRuntime, { version: string; info: PluginInfo }>();

/**
 * The cache key of one plugin's info: its change-log position, lifecycle state, messages
 * received and key cap. The position alone missed every message that changed no state (dropped
 * as expired, key_cap or quarantined, or ignored by the plugin): after one message dated hours
 * ahead, volume-1s dropped every later message as expired while /plugins kept showing the
 * counters from before (received 101, expired 0; /metrics: 121 and 20), and a lowered key
 * budget's cap showed only once a row moved.
 */
const versionOf = (runtime: PluginRuntime) =>
  `${runtime.position}:${runtime.lifecycleState}:${runtime.received}:${runtime.keyCap}`;

/** What a client needs to use one plugin; rebuilt only when its change-log position or lifecycle moves. */
export function describePlugin(runtime: PluginRuntime): PluginInfo {
  const cached = infoCache.get(runtime);
  const version = versionOf(runtime);
  if (cached !== undefined && cached.version === version) return cached.info;
  const info = buildInfo(runtime);
  infoCache.set(runtime, { version, info });
  return info;
}

function buildInfo(runtime: PluginRuntime): PluginInfo {
  const { plugin, ident } = runtime;
  const def = plugin.definition;
  const path = `/api/${ident}`;
  const stats = runtime.stats();
  return {
    ident,
    name: def.name,
    summary: def.summary,
    description: def.description,
    interval: spanOf(plugin.intervalSeconds),
    retention: spanOf(plugin.retentionSeconds),
    columns: [...def.columns],
    key: [...def.key],
    parameters: parametersOf(runtime),
    formats: [...ROW_FORMATS],
    has_layout: def.layout !== undefined,
    rows: runtime.defaultRowCount(),
    last_update: stats.counters.lastMessageAt,
    // What the runtime counted for this plugin, limits included, so a cap being hit is visible here too.
    counters: countersOf(stats),
    newest_row: stats.newestRow ?? null,
    digest: stats.digest,
    lifecycle: stats.lifecycle,
    links: {
      rows: path,
      layout: def.layout === undefined ? null : `${path}/layout`,
      stream: `${path}/stream`,
      websocket: '/ws',
    },
  };
}

function countersOf(stats: PluginStats): PluginInfo['counters'] {
  const c = stats.counters;
  return {
    received: c.received,
    applied: c.applied,
    dropped: { ...c.dropped },
    evicted: c.evicted,
    cap_evicted: c.capEvicted,
    expired: c.expired,
    max_keys: stats.maxKeys,
    keys: stats.keys,
    key_cap: stats.keyCap,
  };
}

export function describePlugins(host: PluginHost): Discovery {
  return { plugins: host.runtimes.map(describePlugin) };
}

/** Changes whenever any plugin's state or counters do: the cache key of `/plugins`. */
export function hostVersion(host: PluginHost): string {
  return host.runtimes.map(versionOf).join('.');
}
