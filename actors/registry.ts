import { planContainer, type ContainerPlan } from './containers.js';
import { StatscacheError } from './errors.js';
import { IDENT_PATTERN, identOf } from './ident.js';
import { MAX_INTERVAL_SECONDS, parseInterval } from './interval.js';
import type { AnyPluginDefinition, ParamSpec } from './plugin-api.js';
import { nearestName } from '../src/edit-distance.js';
import { checkStoreName } from './store-names.js';

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

/**
 * Validates every definition (failing on the first bad one with a coded error naming it) and
 * freezes the list. `origins` (one per definition: "built-in", a module's path) name where each
 * came from when two share an ident, as two plugins may well share a name.
 */
export function registerPlugins(
  definitions: readonly unknown[],
  origins?: readonly string[],
): readonly RegisteredPlugin[] {
  const seen = new Map<string, string>();
  const out = definitions.map((candidate, index) => {
    const plugin = validate(candidate, index);
    const other = seen.get(plugin.ident);
    const named = `"${plugin.definition.name}"${origins?.[index] === undefined ? '' : ` (${origins[index]})`}`;
    if (other !== undefined) {
      throw new StatscacheError(
        'SC_PLUGIN_IDENT_DUPLICATE',
        `plugins ${other} and ${named} both have the ident "${plugin.ident}"`,
      );
    }
    seen.set(plugin.ident, named);
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
  checkFields(def, label);
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
  for (const field of ['update', 'view', 'viewIsRows', 'migrate'] as const) {
    const kind = def[field] === undefined ? null : notPlainFunction(def[field] as (...args: never[]) => unknown);
    // A view returns its rows as any iterable, so a generator is a fine view.
    if (kind !== null && !(field === 'view' && kind === 'a generator function')) {
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": "${field}" must be a plain synchronous function, got ${kind} (the runtime uses what it returns at once, and rolls back a message's writes only until it returns)`,
      );
    }
  }

  const intervalSeconds = def['interval'] === undefined ? null : boundedInterval(def['interval'], label, 'interval');
  const ident = identOf(name, intervalSeconds);
  if (!IDENT_PATTERN.test(ident) || ident.length > 120) {
    throw new StatscacheError(
      'SC_PLUGIN_NAME_INVALID',
      `plugin name "${name}" gives the ident "${ident}", which is not [a-z0-9._-] starting with a letter or digit (at most 120)`,
    );
  }
  const retentionSeconds =
    def['retention'] === undefined ? null : boundedInterval(def['retention'], label, 'retention');

  const topics = stringList(def['topics'] ?? [''], label, 'topics', true);
  const columns = stringList(def['columns'], label, 'columns', false);
  if (columns.includes('timestamp')) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "columns" lists "timestamp", which every row has implicitly`,
    );
  }
  checkNames(columns, label, 'columns');
  const key = stringList(def['key'], label, 'key', false);
  checkNames(key, label, 'key');
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
  for (const s of storeNames) {
    storePlans[s] = planContainer((def['stores'] as Record<string, unknown>)[s], label, s);
    checkStoreName(label, ident, s);
  }

  if (def['layout'] !== undefined) {
    // Served as JSON at /api/<ident>/layout: one that cannot be (a BigInt, a cycle) fails here, not per request.
    try {
      JSON.stringify(def['layout']);
    } catch (err) {
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": "layout" cannot be written as JSON (${err instanceof Error ? err.message : 'unserialisable'})`,
      );
    }
  }

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

/** Every field a definition may have (plugin-api.ts, PluginDefinition). */
const DEFINITION_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'summary',
  'description',
  'interval',
  'topics',
  'version',
  'rows',
  'columns',
  'key',
  'retention',
  'params',
  'stores',
  'layout',
  'update',
  'view',
  'viewIsRows',
  'migrate',
]);

/**
 * Refuses a field no definition has, naming the one it most likely meant: a misspelt optional
 * field (`retension: '7d'`, `topic: [...]`) was ignored without a word, and the plugin ran
 * without it (rows kept for ever, every message routed to it), as a config file's unknown key
 * is refused rather than ignored.
 */
function checkFields(def: Record<string, unknown>, label: string): void {
  for (const field of Object.keys(def)) {
    if (DEFINITION_FIELDS.has(field)) continue;
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": unknown field "${field}" (did you mean "${nearestName(field, DEFINITION_FIELDS)}"?); a definition has only ${[...DEFINITION_FIELDS].join(', ')}`,
    );
  }
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
  // Checked here, not met per request: a bad bound made every value of the parameter a 400.
  const bad = (what: string): never => {
    throw new StatscacheError('SC_PLUGIN_FIELD_INVALID', `plugin "${label}": parameter "${name}": ${what}`);
  };
  const p = spec as Record<string, unknown>;
  for (const bound of ['min', 'max'] as const) {
    if (p[bound] !== undefined && (typeof p[bound] !== 'number' || !Number.isFinite(p[bound])))
      bad(`"${bound}" must be a finite number, got ${describe(p[bound])}`);
  }
  if (typeof p['min'] === 'number' && typeof p['max'] === 'number' && p['min'] > p['max'])
    bad(`"min" ${p['min']} is above "max" ${p['max']}: no value would be accepted`);
  if (p['enum'] !== undefined) {
    const values = p['enum'];
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string'))
      bad(`"enum" must be a non-empty array of strings, got ${describe(values)}`);
  }
  if (p['maxLength'] !== undefined) {
    const n = p['maxLength'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
      bad(`"maxLength" must be a whole number >= 1, got ${describe(n)}`);
  }
}

/** Column names rows are built from and JSON objects are keyed by: each once, and none that is an object's own machinery. */
function checkNames(names: readonly string[], label: string, field: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '__proto__' || n === 'constructor' || n === 'prototype')
      throw new StatscacheError(
        'SC_PLUGIN_FIELD_INVALID',
        `plugin "${label}": "${field}" lists "${n}", which cannot name a row member`,
      );
    if (seen.has(n))
      throw new StatscacheError('SC_PLUGIN_FIELD_INVALID', `plugin "${label}": "${field}" lists "${n}" twice`);
    seen.add(n);
  }
}

function boundedInterval(v: unknown, label: string, field: 'interval' | 'retention'): number {
  const seconds = parseInterval(asIntervalSpec(v, label, field), label, field);
  if (seconds > MAX_INTERVAL_SECONDS) {
    throw new StatscacheError(
      'SC_PLUGIN_INTERVAL_INVALID',
      `plugin "${label}": ${field} ${JSON.stringify(v)} is longer than ${MAX_INTERVAL_SECONDS} s (36500d)`,
    );
  }
  return seconds;
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

/**
 * What makes a function unfit as a plugin hook, or null: the runtime calls hooks synchronously
 * and rolls a message's writes back when one throws. An async hook's rejection escaped as an
 * unhandled rejection (the process died, and again on every restart replaying that message);
 * a generator's body never runs; a class cannot be called.
 */
function notPlainFunction(fn: (...args: never[]) => unknown): string | null {
  const ctor = Object.getPrototypeOf(fn)?.constructor?.name;
  if (ctor === 'AsyncFunction') return 'an async function';
  if (ctor === 'GeneratorFunction') return 'a generator function';
  if (ctor === 'AsyncGeneratorFunction') return 'an async generator function';
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return 'a class';
  return null;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}
