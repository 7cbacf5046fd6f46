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

/**
 * Picks the format for an Accept header, honouring q-values. Wildcards mean JSON (curl and
 * browsers send `*\/*`); a JavaScript type or a wildcard with a callback means JSON-P.
 * Returns null when nothing acceptable is offered (406).
 */
export function negotiate(accept: string, hasCallback: boolean): Format | null {
  if (accept.trim() === '') return hasCallback ? 'jsonp' : 'json';
  const ranges = accept
    .split(',')
    .map((part, index) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { type, weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((r) => r.weight > 0 && r.type !== '')
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { type } of ranges) {
    if (type === '*/*' || type === 'application/*' || type === 'text/*') return hasCallback ? 'jsonp' : 'json';
    const kind = TYPES.find(([t]) => t === type)?.[1];
    if (kind === 'json' || kind === 'csv') return kind;
    if (kind === 'js') return hasCallback ? 'jsonp' : 'json';
  }
  return null;
}

export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  json: 'application/json; charset=utf-8',
  jsonp: 'application/javascript; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};
