/** The response formats of the statscache API and how an Accept header picks one. */
export type Format = 'json' | 'jsonp' | 'csv';

const TYPES: ReadonlyArray<readonly [string, 'json' | 'js' | 'csv']> = [
  ['application/json', 'json'],
  ['text/json', 'json'],
  ['application/javascript', 'js'],
  ['text/javascript', 'js'],
  ['application/csv', 'csv'],
  ['text/csv', 'csv'],
];

/** The Content-Type each format is answered with: what a client refusing it with `q=0` refuses. */
const SERVED: Readonly<Record<Format, string>> = {
  json: 'application/json',
  jsonp: 'application/javascript',
  csv: 'text/csv',
};

/**
 * Picks the format for an Accept header, honouring q-values. Wildcards mean JSON (curl and
 * browsers send `*\/*`); a JavaScript type or a wildcard with a callback means JSON-P. A type
 * the client names with `q=0` is refused even where a wildcard would take it (RFC 9110 12.5.1:
 * the more specific range wins): `application/json;q=0, *\/*` was answered JSON, the one
 * format it excluded; it gets CSV, which `*\/*` allows. Returns null when nothing acceptable is
 * offered (406).
 */
export function negotiate(accept: string, hasCallback: boolean): Format | null {
  if (accept.trim() === '') return hasCallback ? 'jsonp' : 'json';
  const parsed = accept.split(',').map((part, index) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    return { type, weight: Number.isFinite(weight) ? weight : 0, index };
  });
  const refused = (format: Format): boolean => parsed.some((r) => r.weight <= 0 && r.type === SERVED[format]);
  /** The first of `formats` not refused, or null. */
  const first = (...formats: Format[]): Format | null => formats.find((f) => !refused(f)) ?? null;
  const ranges = parsed
    .filter((r) => r.weight > 0 && r.type !== '')
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { type } of ranges) {
    let format: Format | null = null;
    if (type === '*/*' || type === 'text/*')
      format = hasCallback ? first('jsonp', 'json', 'csv') : first('json', 'csv');
    else if (type === 'application/*') format = hasCallback ? first('jsonp', 'json') : first('json');
    else {
      const kind = TYPES.find(([t]) => t === type)?.[1];
      if (kind === 'json' || kind === 'csv') format = first(kind);
      else if (kind === 'js') format = hasCallback ? first('jsonp') : first('json');
    }
    if (format !== null) return format;
  }
  return null;
}

export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  json: 'application/json; charset=utf-8',
  jsonp: 'application/javascript; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};
