import { stringify } from 'csv-stringify/sync';
import type { Row } from '../../actors/row-store.js';
import { CONTENT_TYPES, type Format } from './negotiate.js';

/** Serialises a body in the negotiated format; CSV is quoted by a real CSV writer. */
export function render(
  format: Format,
  value: unknown,
  opts: { callback?: string | undefined; columns?: readonly string[] },
): { body: string; type: string } {
  switch (format) {
    case 'json':
      return { body: JSON.stringify(value), type: CONTENT_TYPES.json };
    case 'jsonp':
      return { body: jsonpBody(opts.callback ?? 'callback', JSON.stringify(value)), type: CONTENT_TYPES.jsonp };
    case 'csv':
      return { body: csvRows(value as readonly Row[], opts.columns ?? []), type: CONTENT_TYPES.csv };
  }
}

const LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * `callback(json)`, with U+2028 and U+2029 escaped: JSON allows them raw in strings, but
 * JavaScript before ES2019 (the browsers JSON-P exists for) ends a string literal at them, so
 * one commit message pasted with a line separator broke the whole answer there. Inside JSON text
 * they occur only in strings, where the escape reads back as the same character. `suffix`: `;`
 * for answers that end with one.
 */
export function jsonpBody(callback: string, json: string, suffix = ''): string {
  const safe = json.replace(LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
  return `${callback}(${safe})${suffix}`;
}

/**
 * Spreadsheets run a cell that starts with one of these as a formula (`=HYPERLINK(…)` from a
 * username on the bus). OWASP's advice: prefix such a cell with a single quote.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A string cell as it is safe to open in a spreadsheet; numbers never pass here, so -3 stays a number. */
export function neutraliseCsvCell(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return neutraliseCsvCell(typeof v === 'string' ? v : JSON.stringify(v));
}

function csvRows(rows: readonly Row[], columns: readonly string[]): string {
  const header = ['timestamp', ...[...columns].sort()];
  const records = rows.map((r) => header.map((c) => csvCell((r as unknown as Record<string, unknown>)[c])));
  return stringify([header.map(neutraliseCsvCell), ...records]);
}

/** `/api/` as CSV: idents joined by newlines (statscache-api.md); an external plugin names its own ident. */
export function csvLines(lines: readonly string[]): string {
  return lines.map(neutraliseCsvCell).join('\n');
}
