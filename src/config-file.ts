import { StatscacheError } from '../actors/errors.js';
import { readBoundedFile } from './bounded-read.js';
import { clipped } from './config-shown.js';
import { duplicateKey } from './json-duplicate-keys.js';

/**
 * Fatal: a byte UTF-8 has no reading for (a file saved as Latin-1 or Windows-1252) was read as
 * U+FFFD, so a token or a topic holding "é" silently became another one. Not ignoreBOM: one
 * leading byte order mark is dropped, as npm reads package.json and tsc tsconfig.json (Notepad
 * and some IDEs on Windows write one); a second one, or one further on, is JSON's to refuse.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Why `bytes` is UTF-16 rather than UTF-8 JSON, or null. */
function utf16Of(bytes: Buffer): string | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'it starts with the UTF-16 LE byte order mark (FF FE)';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'it starts with the UTF-16 BE byte order mark (FE FF)';
  // JSON text in UTF-8 never holds a NUL byte (not whitespace, and escaped in strings); ASCII in UTF-16 holds one every other byte.
  const nul = bytes.indexOf(0);
  return nul === -1 ? null : `it holds a NUL byte at offset ${nul}, as UTF-16 text does`;
}

/** The file's text: UTF-8 (one leading byte order mark dropped), or a refusal naming the file and why it is not. */
function configText(path: string, bytes: Buffer): string {
  const utf16 = utf16Of(bytes);
  const refused = (why: string): never => {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "config": ${path} is not UTF-8 JSON: ${why}; save it as UTF-8`,
    );
  };
  if (utf16 !== null) return refused(utf16);
  try {
    return UTF8.decode(bytes);
  } catch {
    return refused('it holds bytes UTF-8 has no reading for (a file saved as Latin-1 or Windows-1252?)');
  }
}

/** The config file's object, refused (SC_CONFIG_INVALID) unless it is one JSON object of UTF-8 text, each member given once. */
export function readConfigFile(path: string): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(path);
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": cannot read ${path}: ${(err as Error).message}`);
  }
  const text = configText(path, bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "config": ${path} is not valid JSON: ${clipped((err as Error).message)}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": ${path} must hold a JSON object`);
  }
  const twice = duplicateKey(text);
  if (twice !== null) {
    const [setting, ...inner] = [...twice.path, twice.key];
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "${clipped(setting ?? '')}" (config file ${path}): ${inner.length === 0 ? 'given twice' : `member ${clipped(JSON.stringify(inner.join('.')))} given twice`}; JSON keeps only the last, so say it once`,
    );
  }
  return value as Record<string, unknown>;
}
