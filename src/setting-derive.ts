import type * as z from 'zod';
import { SETTINGS, type Setting } from './settings.js';

/** What src/settings.ts declares, read back: schema shape, names, kinds and defaults. */
export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export const settingOf = (key: SettingKey): Setting => SETTINGS[key];

type Declared = typeof SETTINGS;
/** A setting's schema: its type with its default, or optional when it has none. */
export type SchemaOf<K extends SettingKey> = Declared[K] extends { readonly default: unknown }
  ? z.ZodDefault<ReturnType<Declared[K]['type']>>
  : z.ZodOptional<ReturnType<Declared[K]['type']>>;

const built = new Map<SettingKey, z.ZodType>();
/** Built on first use and kept: a start builds only the schemas of the settings it is given. */
export function schemaOf<K extends SettingKey>(key: K): SchemaOf<K> {
  let schema = built.get(key);
  if (schema === undefined) {
    const s: Setting = SETTINGS[key];
    schema = 'default' in s ? s.type().default(s.default as never) : s.type().optional();
    built.set(key, schema);
  }
  return schema as SchemaOf<K>;
}

/** The zod shape of the config object, one field per setting (builds every setting's schema). */
export function settingsShape(): { [K in SettingKey]: SchemaOf<K> } {
  const shape: Partial<Record<SettingKey, z.ZodType>> = {};
  for (const key of SETTING_KEYS) shape[key] = schemaOf(key);
  return shape as { [K in SettingKey]: SchemaOf<K> };
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `wsMaxConnectionsPerIp` → `STATSCACHE_WS_MAX_CONNECTIONS_PER_IP`. */
export const envNameOf = (key: string): string => `STATSCACHE_${snake(key)}`;
/** `wsMaxConnectionsPerIp` → `--ws-max-connections-per-ip`; also used in messages about config-only settings. */
export const flagOf = (key: string): string => `--${kebab(key)}`;

/** Lists are repeatable flags and comma-separated variables; objects are JSON in the environment. */
export const kindOf = (key: SettingKey): 'list' | 'object' | 'scalar' => settingOf(key).kind ?? 'scalar';

/** Allowed values of an enum setting (`--log-level`), else undefined. */
export const choicesOf = (key: SettingKey): readonly string[] | undefined => settingOf(key).choices;

/**
 * What the setting is when nothing gives it, as its schema gives it: the declared default, a
 * shallow copy of an array or object as zod's `.default()` makes (a config is frozen).
 */
export function defaultOf(key: SettingKey): unknown {
  const value = settingOf(key).default;
  if (Array.isArray(value)) return [...value];
  return typeof value === 'object' && value !== null ? { ...value } : value;
}

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

function markdownValue(v: unknown): string {
  if (isEmpty(v)) return 'none';
  if (Array.isArray(v)) return v.map(markdownValue).join(', ');
  if (v === '') return '`""`';
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

/** The README's default column: the schema default, with its note, or the setting's own words. */
export function defaultMarkdown(key: SettingKey): string {
  const s: Setting = SETTINGS[key];
  if (s.defaultText !== undefined) return s.defaultText;
  const value = markdownValue(defaultOf(key));
  return s.defaultNote === undefined ? value : `${value} (${s.defaultNote})`;
}

/** Markdown to the plain text of a --help line: no code marks, links keep their words. */
export const plainText = (markdown: string): string =>
  markdown
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\*+([^*]+)\*+/g, '$1');

/** One --help line: the meaning, then whether it repeats and the default (left out when there is none). */
export function helpLine(key: SettingKey): string {
  const s: Setting = SETTINGS[key];
  const value = markdownValue(defaultOf(key));
  // A note alone says more than an empty value ("everything", "system CAs").
  const shown =
    s.defaultText !== undefined
      ? s.defaultText
      : s.defaultNote === undefined
        ? value
        : value === 'none' || value === '`""`'
          ? s.defaultNote
          : `${value}, ${s.defaultNote}`;
  const extras = [
    kindOf(key) === 'list' ? 'repeatable' : undefined,
    shown === 'none' ? undefined : `default ${plainText(shown)}`,
  ].filter(Boolean);
  return `${plainText(s.help)}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`;
}
