import * as z from 'zod';
import { SETTINGS, type Setting } from './settings.js';

/** What src/settings.ts declares, read back: schema shape, names, kinds and defaults. */
export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export const settingOf = (key: SettingKey): Setting => SETTINGS[key];

/** The zod shape of the config object, one field per setting. */
export const settingsShape = (): { [K in SettingKey]: (typeof SETTINGS)[K]['type'] } =>
  Object.fromEntries(SETTING_KEYS.map((k) => [k, SETTINGS[k].type])) as {
    [K in SettingKey]: (typeof SETTINGS)[K]['type'];
  };

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `wsMaxConnectionsPerIp` → `STATSCACHE_WS_MAX_CONNECTIONS_PER_IP`. */
export const envNameOf = (key: string): string => `STATSCACHE_${snake(key)}`;
/** `wsMaxConnectionsPerIp` → `--ws-max-connections-per-ip`; also used in messages about config-only settings. */
export const flagOf = (key: string): string => `--${kebab(key)}`;

/** The type inside defaults, optionals and nullables. */
function innerType(type: z.ZodType): z.ZodType {
  let t: z.ZodType = type;
  for (;;) {
    if (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodNullable)
      t = t.unwrap() as z.ZodType;
    else return t;
  }
}

/** Lists are repeatable flags and comma-separated variables; objects are JSON in the environment. */
export function kindOf(key: SettingKey): 'list' | 'object' | 'scalar' {
  const inner = innerType(SETTINGS[key].type);
  return inner instanceof z.ZodArray
    ? 'list'
    : inner instanceof z.ZodRecord || inner instanceof z.ZodObject
      ? 'object'
      : 'scalar';
}

/** Allowed values of an enum setting (`--log-level`), else undefined. */
export function choicesOf(key: SettingKey): readonly string[] | undefined {
  const inner = innerType(SETTINGS[key].type);
  return inner instanceof z.ZodEnum ? (inner.options as readonly string[]) : undefined;
}

/** The schema's own default: what the setting is when nothing gives it. */
export function defaultOf(key: SettingKey): unknown {
  const parsed = SETTINGS[key].type.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
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
