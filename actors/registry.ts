import { planContainer, type ContainerPlan } from './containers.js';
import { checkHooks } from './definition-hooks.js';
import { validateParam } from './definition-params.js';
import { boundedInterval, checkFields, checkNames, describe, record, stringList } from './definition-values.js';
import { StatscacheError } from './errors.js';
import { IDENT_MAX_LENGTH, IDENT_PATTERN, identOf } from './ident.js';
import type { AnyPluginDefinition, ParamSpec } from './plugin-api.js';
import { checkStoreName } from './store-names.js';

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
  checkHooks(def, label);

  const intervalSeconds = def['interval'] === undefined ? null : boundedInterval(def['interval'], label, 'interval');
  const ident = identOf(name, intervalSeconds);
  if (!IDENT_PATTERN.test(ident) || ident.length > IDENT_MAX_LENGTH) {
    throw new StatscacheError(
      'SC_PLUGIN_NAME_INVALID',
      `plugin name "${name}" gives the ident "${ident}", which is not [a-z0-9._-] starting with a letter or digit (at most ${IDENT_MAX_LENGTH})`,
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
