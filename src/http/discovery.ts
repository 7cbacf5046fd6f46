import * as z from 'zod';
import { formatInterval } from '../../actors/interval.js';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { COMMON_PARAMS, paramDocs } from './param-docs.js';
import { pluginParamsSchema } from './query-params.js';

const span = z
  .object({ seconds: z.number().int().positive(), spelled: z.string().meta({ description: 'as in the ident: `1m`, `1d1h`' }) })
  .nullable();

const paramDoc = z.object({
  name: z.string(),
  scope: z.enum(['common', 'plugin']).meta({ description: '`common`: every view takes it; `plugin`: this plugin\'s own' }),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema (2020-12) of the parsed value' }),
});

/** The shape of `GET /plugins`; also published as an OpenAPI component. */
export const pluginInfoSchema = z.object({
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
  rows: z.number().int().nonnegative().meta({ description: 'rows the view serves now with default parameters (all pages)' }),
  last_update: z.number().nullable().meta({ description: 'timestamp (epoch seconds) of the newest message applied since the service started' }),
  newest_row: z.number().nullable().meta({ description: 'timestamp of the newest row' }),
  counters: z
    .object({
      received: z.number().int().nonnegative(),
      applied: z.number().int().nonnegative(),
      dropped: z.record(z.string(), z.number().int().nonnegative()).meta({ description: 'messages skipped, by reason: update_error, expired, key_cap' }),
      evicted: z.number().int().nonnegative().meta({ description: 'rows removed by retention' }),
      cap_evicted: z.number().int().nonnegative().meta({ description: 'oldest rows removed to stay within max_keys' }),
      expired: z.number().int().nonnegative().meta({ description: 'entries of expiring stores and windowed counters deleted as message time moved past them' }),
      max_keys: z.number().int().positive().meta({ description: 'keys one container of this plugin may hold (--plugin-max-keys)' }),
    })
    .meta({ description: 'what the runtime counted for this plugin since the service started' }),
  links: z.object({
    rows: z.string(),
    layout: z.string().nullable(),
    stream: z.string().meta({ description: 'Server-Sent Events of row updates' }),
    websocket: z.string().meta({ description: 'send {"op":"subscribe","ident":"<ident>"}' }),
  }),
});

export const discoverySchema = z.object({ plugins: z.array(pluginInfoSchema) });

export type PluginInfo = z.infer<typeof pluginInfoSchema>;
export type Discovery = z.infer<typeof discoverySchema>;

export const ROW_FORMATS = ['application/json', 'text/json', 'application/javascript', 'text/javascript', 'application/csv', 'text/csv'] as const;

const paramCache = new WeakMap<object, PluginInfo['parameters']>();

/** Common and plugin parameters; converted to JSON Schema once per plugin. */
export function parametersOf(runtime: PluginRuntime): PluginInfo['parameters'] {
  let params = paramCache.get(runtime.plugin);
  if (params === undefined) {
    params = [...COMMON_PARAMS, ...paramDocs(pluginParamsSchema(runtime.plugin), 'plugin')];
    paramCache.set(runtime.plugin, params);
  }
  return params;
}

const spanOf = (seconds: number | null) => (seconds === null ? null : { seconds, spelled: formatInterval(seconds) });

const infoCache = new WeakMap<PluginRuntime, { version: number; info: PluginInfo }>();

/** What a client needs to use one plugin; rebuilt only when the plugin's state version moves. */
export function describePlugin(runtime: PluginRuntime): PluginInfo {
  const cached = infoCache.get(runtime);
  if (cached !== undefined && cached.version === runtime.state.version) return cached.info;
  const info = buildInfo(runtime);
  infoCache.set(runtime, { version: runtime.state.version, info });
  return info;
}

/** Rows a view serves with default parameters: the row store's size, or the custom view's output. */
function rowCount(runtime: PluginRuntime): number {
  const view = runtime.plugin.definition.view;
  if (view === undefined) return runtime.state.rows.size;
  let n = 0;
  try {
    for (const _ of view(runtime.viewContext() as never, {} as never) as Iterable<unknown>) n++;
  } catch {
    // A view that needs parameters to answer: the stored rows are the honest count.
    return runtime.state.rows.size;
  }
  return n;
}

function buildInfo(runtime: PluginRuntime): PluginInfo {
  const { plugin, ident } = runtime;
  const def = plugin.definition;
  const path = `/api/${ident}`;
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
    rows: rowCount(runtime),
    last_update: runtime.state.counters.lastMessageAt,
    // What the runtime counted for this plugin, limits included, so a cap being hit is visible here too.
    counters: countersOf(runtime),
    newest_row: runtime.state.rows.newestTimestamp ?? null,
    links: { rows: path, layout: def.layout === undefined ? null : `${path}/layout`, stream: `${path}/stream`, websocket: '/ws' },
  };
}

function countersOf(runtime: PluginRuntime): PluginInfo['counters'] {
  const c = runtime.state.counters;
  return { received: c.received, applied: c.applied, dropped: { ...c.dropped }, evicted: c.evicted, cap_evicted: c.capEvicted, expired: c.expired, max_keys: runtime.maxKeys };
}

export function describePlugins(host: PluginHost): Discovery {
  return { plugins: host.runtimes.map(describePlugin) };
}

/** Changes whenever any plugin's state does: the cache key of `/plugins`. */
export function hostVersion(host: PluginHost): string {
  return host.runtimes.map((r) => r.state.version).join('.');
}
