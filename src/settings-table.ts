import { choicesOf, defaultMarkdown, envNameOf, flagOf, kindOf, SETTING_KEYS, settingOf } from './setting-derive.js';
import { CONFIG_FILE } from './settings.js';

/** The README's settings table sits between these two lines; `npm run docs:settings` rewrites it. */
export const TABLE_BEGIN =
  '<!-- settings-table: generated from src/settings.ts by `npm run docs:settings`; edit there, not here -->';
export const TABLE_END = '<!-- /settings-table -->';

const code = (text: string) => `\`${text}\``;
// A `|` inside a cell would end it.
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** flag | environment | config file key | default | meaning: one row per setting, then --config. */
export function settingsTable(): string {
  const rows = SETTING_KEYS.map((key) => {
    const s = settingOf(key);
    const flag = s.flag === null ? '' : code(s.flag === '' ? flagOf(key) : `${flagOf(key)} ${s.flag}`);
    const choices = choicesOf(key);
    const more =
      s.flag !== null && kindOf(key) === 'list' ? '. Repeatable' : choices ? `: ${choices.map(code).join(', ')}` : '';
    return [flag, code(envNameOf(key)), code(key), defaultMarkdown(key), `${s.help}${more}`];
  });
  rows.push([code(`${CONFIG_FILE.flag} ${CONFIG_FILE.arg}`), code(CONFIG_FILE.env), '', 'none', CONFIG_FILE.help]);
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`.replace(/\| {2}\|/g, '| |');
  return [
    line(['flag', 'environment', 'config file key', 'default', 'meaning']),
    '|---|---|---|---|---|',
    ...rows.map(line),
  ].join('\n');
}

/** The README with its settings table replaced by the generated one; throws when the markers are missing. */
export function withSettingsTable(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README.md must hold the lines ${TABLE_BEGIN} and ${TABLE_END}`);
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}
