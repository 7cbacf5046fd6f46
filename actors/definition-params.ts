import { StatscacheError } from './errors.js';
import { describe } from './definition-values.js';

/** Query parameters every view already has (statscache-api.md); a plugin may not redefine them. */
export const RESERVED_PARAMS = new Set(['order', 'limit', 'start', 'stop', 'page', 'rows_per_page', 'callback', '_']);

/** A view parameter's name and spec: its type, description and bounds, checked once at registration. */
export function validateParam(label: string, name: string, spec: unknown): void {
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
