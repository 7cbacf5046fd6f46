/** Unit separator: never appears in topics, account or package names. */
export const SEP = '\u001f';

/**
 * A row's storage key, derived from the plugin's `key` columns: the values joined by the unit
 * separator U+001F, each with `\` and U+001F escaped so distinct rows never share a key. For
 * values without those characters it is exactly the key the built-in plugins have always
 * written (`joinKey`), so existing snapshots keep their keys.
 *
 * HTTP serves one row per storage key while WebSocket frames identify rows by the key columns;
 * deriving the one from the other is what keeps the two in agreement.
 */
export function rowKeyOf(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  if (columns.length === 1) return keyPart(row[columns[0] as string]);
  let key = '';
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) key += SEP;
    key += keyPart(row[columns[i] as string]);
  }
  return key;
}

/**
 * The last string keyPart() was given and its share. A counter finds its row (rows.lookup) and
 * then writes it (rows.put) with the same value, one after the other, and each scanned it twice
 * for the characters to escape: 360 of the ~6,000 instructions a message cost volume-by-topic-1s
 * (callgrind). Equal strings have equal shares, so the cache is as deterministic as the function.
 */
let lastString: string | null = null;
let lastShare = '';

/** One column's share of a row key (a string value without `\` or U+001F is its own share, uncopied). */
export function keyPart(value: unknown): string {
  if (typeof value !== 'string') return escaped(value === undefined || value === null ? '' : String(value));
  if (value === lastString) return lastShare;
  const share = escaped(value);
  lastString = value;
  lastShare = share;
  return share;
}

function escaped(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+001F is the separator being escaped
  return s.includes(SEP) || s.includes('\\') ? s.replace(/[\\\u001f]/g, (c) => `\\${c}`) : s;
}

export class RowKeyMismatchError extends Error {
  readonly code = 'SC_PLUGIN_ROW_KEY';
}
