import { planContainer, type ContainerPlan } from './containers.js';
import { StatscacheError } from './errors.js';
import { IDENT_PATTERN, identOf } from './ident.js';
import { parseInterval } from './interval.js';
import type { AnyPluginDefinition, ParamSpec } from './plugin-api.js';

/** Query parameters every view already has (statscache-api.md); a plugin may not redefine them. */
export const RESERVED_PARAMS = new Set(['order', 'limit', 'start', 'stop', 'page', 'rows_per_page', 'callback', '_']);

/** A plugin definition that passed validation, with everything derived from it computed once. */
export interface RegisteredPlugin {
  readonly ident: string;
  readonly definition: AnyPluginDefinition;
  readonly intervalSeconds: number | null;
  readonly retentionSeconds: number | null;
  /** Topic prefixes; `[""]` for everything. */
  readonly topics: readonly string[];
  readonly version: number;
  readonly storeNames: readonly string[];
  /** Each store's kind and expiry, validated (containers.ts). */
  readonly storePlans: Readonly<Record<string, ContainerPlan>>;
  readonly params: Readonly<Record<string, ParamSpec>>;
}

/** Validates every definition (failing on the first bad one with a coded error naming it) and freezes the list. */
export function registerPlugins(definitions: readonly unknown[]): readonly RegisteredPlugin[] {
  const seen = new Map<string, string>();
  const out = definitions.map((candidate, index) => {
    const plugin = validate(candidate, index);
    const other = seen.get(plugin.ident);
    if (other !== undefined) {
      throw new StatscacheError(
        'SC_PLUGIN_IDENT_DUPLICATE',
        `plugins "${other}" and "${plugin.definition.name}" both have the ident "${plugin.ident}"`,
      );
    }
    seen.set(plugin.ident, plugin.definition.name);
    return Object.freeze(plugin);
  });
  return Object.freeze(out);
}

function validate(candidate: unknown, index: number): RegisteredPlugin {
  if (typeof candidate !== 'object' || candidate === null) {
    throw new StatscacheError(
      'SC_PLUGIN_INVALID',
      `plugin #${index} is ${candidate === null ? 'null' : typeof candidate}, not a definition object`,
    );
  }
  const def = candidate as Record<string, unknown>;
  const name = def['name'];
  if (typeof name !== 'string' || name.trim() === '') {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_MISSING',
      `plugin #${index} has no "name" (got ${JSON.stringify(name)})`,
    );
  }
  const label = name;
  const need = (field: string, type: 'string' | 'function'): void => {
    const v = def[field];
    if (v === undefined) throw new StatscacheError('SC_PLUGIN_FIELD_MISSING', `plugin "${label}" has no "${field}"`);
    if (typeof v !== type || (type === 'string' && (v as string).trim() === '')) {
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": "${field}" must be a non-empty ${type}, got ${describe(v)}`,
      );
    }
  };
  need('summary', 'string');
  need('description', 'string');
  need('update', 'function');
  for (const optional of ['view', 'viewIsRows', 'migrate'] as const) {
    if (def[optional] !== undefined && typeof def[optional] !== 'function') {
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": "${optional}" must be a function, got ${describe(def[optional])}`,
      );
    }
  }

  const intervalSeconds =
    def['interval'] === undefined ? null : parseInterval(asIntervalSpec(def['interval'], label, 'interval'), label);
  const ident = identOf(name, intervalSeconds);
  if (!IDENT_PATTERN.test(ident) || ident.length > 120) {
    throw new StatscacheError(
      'SC_PLUGIN_NAME_INVALID',
      `plugin name "${name}" gives the ident "${ident}", which is not [a-z0-9._-] starting with a letter or digit (at most 120)`,
    );
  }
  const retentionSeconds =
    def['retention'] === undefined ? null : parseInterval(asIntervalSpec(def['retention'], label, 'retention'), label);

  const topics = stringList(def['topics'] ?? [''], label, 'topics', true);
  const columns = stringList(def['columns'], label, 'columns', false);
  if (columns.includes('timestamp')) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "columns" lists "timestamp", which every row has implicitly`,
    );
  }
  const key = stringList(def['key'], label, 'key', false);
  for (const k of key) {
    if (k !== 'timestamp' && !columns.includes(k)) {
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": key column "${k}" is not one of its columns`,
      );
    }
  }
  // Rows of one timestamp are then ordered by the one key column besides timestamp (RowStore.scan, tiesByValue).
  const oneColumn =
    key.length === 1 ? key[0] !== 'timestamp' : key.length === 2 && key[0] === 'timestamp' && key[1] !== 'timestamp';
  if (def['viewIsRows'] !== undefined && !oneColumn) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "viewIsRows" needs a "key" of one column, or of "timestamp" and one column, got ${describe(key)}`,
    );
  }

  const version = def['version'] ?? 1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "version" must be a whole number >= 1, got ${describe(version)}`,
    );
  }

  const storeNames = Object.keys(record(def['stores'], label, 'stores'));
  const storePlans: Record<string, ContainerPlan> = {};
  for (const s of storeNames) storePlans[s] = planContainer((def['stores'] as Record<string, unknown>)[s], label, s);

  const params = record(def['params'], label, 'params') as Record<string, ParamSpec>;
  for (const [p, spec] of Object.entries(params)) validateParam(label, p, spec);

  return {
    ident,
    definition: candidate as AnyPluginDefinition,
    intervalSeconds,
    retentionSeconds,
    topics: Object.freeze(topics),
    version,
    storeNames: Object.freeze(storeNames),
    storePlans: Object.freeze(storePlans),
    params: Object.freeze({ ...params }),
  };
}

function validateParam(label: string, name: string, spec: unknown): void {
  if (RESERVED_PARAMS.has(name)) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": parameter "${name}" is reserved by the API`,
    );
  }
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": parameter name "${name}" must be lower_snake_case`,
    );
  }
  const s = spec as { type?: unknown; description?: unknown } | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    !['string', 'number', 'integer', 'boolean'].includes(String(s.type)) ||
    typeof s.description !== 'string'
  ) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": parameter "${name}" needs a type (string|number|integer|boolean) and a description`,
    );
  }
}

function asIntervalSpec(v: unknown, label: string, field: string): string | number {
  if (typeof v === 'string' || typeof v === 'number') return v;
  throw new StatscacheError(
    'SC_PLUGIN_INTERVAL_INVALID',
    `plugin "${label}": "${field}" must be a string like "1m" or seconds, got ${describe(v)}`,
  );
}

function stringList(v: unknown, label: string, field: string, allowEmptyString: boolean): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && (allowEmptyString || x !== ''))) {
    throw new StatscacheError(
      v === undefined ? 'SC_PLUGIN_FIELD_MISSING' : 'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "${field}" must be a non-empty array of strings, got ${describe(v)}`,
    );
  }
  return [...(v as string[])];
}

function record(v: unknown, label: string, field: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "${field}" must be an object, got ${describe(v)}`,
    );
  }
  return v as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}
