/** Readers of a definition's fields: each gives the value in its type or throws a coded error naming the plugin and field. */
import { StatscacheError } from './errors.js';
import { MAX_INTERVAL_SECONDS, parseInterval } from './interval.js';
import { nearestName } from '../src/edit-distance.js';

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
export function checkFields(def: Record<string, unknown>, label: string): void {
  for (const field of Object.keys(def)) {
    if (DEFINITION_FIELDS.has(field)) continue;
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": unknown field "${field}" (did you mean "${nearestName(field, DEFINITION_FIELDS)}"?); a definition has only ${[...DEFINITION_FIELDS].join(', ')}`,
    );
  }
}

/** Column names rows are built from and JSON objects are keyed by: each once, and none that is an object's own machinery. */
export function checkNames(names: readonly string[], label: string, field: string): void {
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

export function boundedInterval(v: unknown, label: string, field: 'interval' | 'retention'): number {
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

export function stringList(v: unknown, label: string, field: string, allowEmptyString: boolean): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && (allowEmptyString || x !== ''))) {
    throw new StatscacheError(
      v === undefined ? 'SC_PLUGIN_FIELD_MISSING' : 'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "${field}" must be a non-empty array of strings, got ${describe(v)}`,
    );
  }
  return [...(v as string[])];
}

export function record(v: unknown, label: string, field: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": "${field}" must be an object, got ${describe(v)}`,
    );
  }
  return v as Record<string, unknown>;
}

export function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}
