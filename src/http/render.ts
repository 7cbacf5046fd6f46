import { stringify } from 'csv-stringify/sync';
import type { Row } from '../../actors/row-store.js';
import { CONTENT_TYPES, type Format } from './negotiate.js';

/** Serialises a body in the negotiated format; CSV is quoted by a real CSV writer. */
export function render(format: Format, value: unknown, opts: { callback?: string | undefined; columns?: readonly string[] }): { body: string; type: string } {
  switch (format) {
    case 'json':
      return { body: JSON.stringify(value), type: CONTENT_TYPES.json };
    case 'jsonp':
      return { body: `${opts.callback ?? 'callback'}(${JSON.stringify(value)})`, type: CONTENT_TYPES.jsonp };
    case 'csv':
      return { body: csvRows(value as readonly Row[], opts.columns ?? []), type: CONTENT_TYPES.csv };
  }
}

function csvRows(rows: readonly Row[], columns: readonly string[]): string {
  const header = ['timestamp', ...[...columns].sort()];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const records = rows.map((r) => header.map((c) => cell((r as unknown as Record<string, unknown>)[c])));
  return stringify([header, ...records]);
}

/** `/api/` as CSV: idents joined by newlines (statscache-api.md). */
export function csvLines(lines: readonly string[]): string {
  return lines.join('\n');
}
