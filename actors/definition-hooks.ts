import { StatscacheError } from './errors.js';
import { describe } from './definition-values.js';

/**
 * The definition's text fields and hooks: `summary` and `description` present, `update` and
 * the optional `view`, `viewIsRows` and `migrate` plain synchronous functions.
 */
export function checkHooks(def: Record<string, unknown>, label: string): void {
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
