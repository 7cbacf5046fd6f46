import { StatscacheError } from './errors.js';

/**
 * A snapshot stores each entry under one LMDB key (snapshots/lmdb-store.ts): the slot and
 * separators (14 bytes), the plugin's ident, the store's name and the entry's key. LMDB takes
 * keys of up to 1978 bytes, and the longest entry key a store accepts (MAX_KEY_BYTES, 1800 as
 * storedKeyBytes counts it) takes up to 1827 as LMDB is given it (28 parts of 63 units, each
 * opening with a unit 0-4). That leaves 137 bytes for the ident and the store's name together:
 * checked at registration, since past it every snapshot failed from the first entry written
 * (a 2,000-character store name, or an 18-byte one beside a 120-character ident).
 */
export const MAX_IDENT_AND_STORE_BYTES = 137;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Throws a coded error naming the store when its name cannot be part of a snapshot key: too
 * long beside the ident, or holding a control character (units 0-4 are escaped by the key
 * encoding only in short strings, so a name's bytes as stored would not be its UTF-8 bytes).
 */
export function checkStoreName(label: string, ident: string, name: string): void {
  const shown =
    name.length > 160 ? `${JSON.stringify(name.slice(0, 80))}… (${name.length} characters)` : JSON.stringify(name);
  if (CONTROL.test(name))
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": store name ${shown} holds a control character`,
    );
  const bytes = Buffer.byteLength(ident) + Buffer.byteLength(name);
  if (bytes > MAX_IDENT_AND_STORE_BYTES)
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": store name ${shown} takes ${Buffer.byteLength(name)} bytes, and with the ident "${ident}" ${bytes}, more than the ${MAX_IDENT_AND_STORE_BYTES} a snapshot key has room for (LMDB's 1978 less the longest entry key)`,
    );
}
