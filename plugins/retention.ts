import { StatscacheError } from '../actors/errors.js';
import { identOf } from '../actors/ident.js';
import { isInterval, parseInterval } from '../actors/interval.js';

/** A factory's optional retention as a definition field, left out when not given so definitions stay plain data. */
export const withRetention = (retention: string | undefined): { retention?: string } =>
  retention === undefined ? {} : { retention };

/**
 * Applies the `retention` setting (keys: an ident like `volume-1s`, or an interval like `1s`
 * or `60s`; values like `12h`) to plugin definitions before they are registered. An ident
 * key beats an interval key. A key that names no given plugin and no plugin interval is a
 * typo that would silently keep the default, so it is refused with SC_CONFIG_INVALID.
 *
 * Entries that are not definition objects pass through untouched: registration reports them.
 */
export function applyRetention(
  definitions: readonly unknown[],
  overrides: Readonly<Record<string, string>>,
): unknown[] {
  const entries = Object.entries(overrides);
  if (entries.length === 0) return [...definitions];
  const byInterval = new Map<number, string>();
  const byIdent = new Map<string, string>();
  for (const [key, value] of entries) {
    seconds(value, key);
    if (isInterval(key)) byInterval.set(seconds(key, key), value);
    else byIdent.set(key, value);
  }
  const described = definitions.map(describe);
  const idents = new Set(described.map((d) => d?.ident));
  const intervals = new Set(described.map((d) => d?.interval));
  const unknown = [
    ...[...byIdent.keys()].filter((k) => !idents.has(k)),
    ...[...byInterval.entries()].filter(([s]) => !intervals.has(s)).map(([s]) => keyOf(overrides, s)),
  ];
  if (unknown.length > 0) {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "retention": ${namedFew(unknown)} names no loaded plugin ident or plugin interval`,
    );
  }
  return definitions.map((candidate, i) => {
    const d = described[i];
    if (!d) return candidate;
    const override = byIdent.get(d.ident) ?? (d.interval === null ? undefined : byInterval.get(d.interval));
    // Keeps the prototype: an external plugin may define its functions on a class.
    return override === undefined
      ? candidate
      : Object.assign(Object.create(Object.getPrototypeOf(candidate) as object | null) as object, candidate, {
          retention: override,
        });
  });
}

/**
 * The first few keys, then how many more: all of up to 1,024 names of 120 characters each made
 * a refusal of 125 KB, to the terminal and journald.
 */
function namedFew(keys: readonly string[], few = 5): string {
  const shown = keys
    .slice(0, few)
    .map((k) => JSON.stringify(k))
    .join(', ');
  return keys.length > few ? `${shown} and ${keys.length - few} more` : shown;
}

function seconds(spec: string, key: string): number {
  try {
    return parseInterval(spec, key);
  } catch (err) {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "retention": ${JSON.stringify(key)} → ${JSON.stringify(spec)} is not a positive interval like 6h or 30d`,
      { cause: err },
    );
  }
}

function keyOf(overrides: Readonly<Record<string, string>>, s: number): string {
  return Object.keys(overrides).find((k) => isInterval(k) && parseInterval(k, k) === s) ?? String(s);
}

/** Ident and interval of a definition, or null when it is too malformed to have them (registration will say why). */
function describe(candidate: unknown): { ident: string; interval: number | null } | null {
  if (typeof candidate !== 'object' || candidate === null) return null;
  const def = candidate as { name?: unknown; interval?: unknown };
  if (typeof def.name !== 'string') return null;
  let interval: number | null = null;
  if (def.interval !== undefined) {
    if (typeof def.interval !== 'string' && typeof def.interval !== 'number') return null;
    try {
      interval = parseInterval(def.interval, def.name);
    } catch {
      return null;
    }
  }
  return { ident: identOf(def.name, interval), interval };
}
