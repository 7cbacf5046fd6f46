import { Option, type Command } from 'commander';
import type { ConfigKey } from './config.js';
import { choicesOf, flagOf, helpLine, kindOf, SETTING_KEYS, settingOf, type SettingKey } from './setting-derive.js';
import { CONFIG_FILE } from './settings.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Settings that have a flag, in declaration order. */
export const FLAG_KEYS: readonly SettingKey[] = SETTING_KEYS.filter((k) => settingOf(k).flag !== null);

/**
 * The flag of one setting. Commander gets no default: an absent flag must leave the value to
 * the environment, the config file or the schema (precedence), so the default is only in the help.
 */
export function settingOption(key: SettingKey, help = helpLine(key)): Option {
  const arg = settingOf(key).flag;
  if (arg === null) throw new Error(`setting "${key}" has no flag`);
  const option = new Option(arg === '' ? flagOf(key) : `${flagOf(key)} ${arg}`, help);
  const choices = choicesOf(key);
  if (choices) option.choices(choices);
  if (kindOf(key) === 'list') option.argParser(collect);
  return option;
}

export const configFileOption = (help: string = CONFIG_FILE.help): Option =>
  new Option(`${CONFIG_FILE.flag} ${CONFIG_FILE.arg}`, `${help} (or ${CONFIG_FILE.env})`);

/** Every setting's flag plus --config: what `serve` and `demo` take. */
export function addSettingOptions(cmd: Command): Command {
  for (const key of FLAG_KEYS) cmd.addOption(settingOption(key));
  return cmd.addOption(configFileOption());
}

/** The flags' values by config key, for loadConfig (commander names each option by its camelCase key). */
export const flagValues = (opts: Record<string, unknown>): Partial<Record<ConfigKey, unknown>> =>
  Object.fromEntries(FLAG_KEYS.map((k) => [k, opts[k]]));

/** --config, else STATSCACHE_CONFIG: external plugins' relative paths are relative to it. */
export const configFileOf = (opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string | undefined =>
  (opts['config'] as string | undefined) ?? (env[CONFIG_FILE.env] || undefined);
