import { ISO_FORM, isoSeconds } from './iso-time.js';
import { CALLBACK_PATTERN, CALLBACK_RULE, isDecimal, tooLongNumber } from './query-params.js';
import { quoted } from './responses.js';

/** datagrepper's page-size cap; more is a 400, as datagrepper answers. */
export const HISTORY_MAX_ROWS_PER_PAGE = 100;
export const HISTORY_DEFAULT_ROWS_PER_PAGE = 25;
/** `end` alone means the 600 seconds before it (datagrepper.md). */
const END_ONLY_SPAN = 600;
/** Guards against pathological queries: values per filter kind, and length of one value. */
const MAX_VALUES = 100;
const MAX_VALUE_LENGTH = 1000;
/**
 * Longest `contains` value: it is searched for in each message's JSON with String#includes, and
 * V8's Boyer-Moore keeps shift tables for a pattern's last 250 characters only; past that a
 * search degenerates to comparing the pattern at almost every position: one 1000-character
 * value against a message of 900 KB of one letter took ~0.4 s, where 250 characters take ~1 ms.
 */
export const CONTAINS_MAX_LENGTH = 250;

export const META_FIELDS = [
  'title',
  'subtitle',
  'icon',
  'secondary_icon',
  'link',
  'usernames',
  'packages',
  'objects',
  'date',
] as const;
export type MetaField = (typeof META_FIELDS)[number];

/** Filter kinds: query parameter → the `arguments` field datagrepper echoes it as. */
export const FILTERS = {
  user: 'users',
  package: 'packages',
  category: 'categories',
  topic: 'topics',
  contains: 'contains',
  agent: 'agents',
  not_user: 'not_users',
  not_package: 'not_packages',
  not_category: 'not_categories',
  not_topic: 'not_topics',
  not_agent: 'not_agents',
} as const;
export type FilterParam = keyof typeof FILTERS;
export type FilterField = (typeof FILTERS)[FilterParam];

export interface HistoryQuery {
  /** The resolved window, or null for "no time filter" (nothing given). */
  readonly window: { readonly start: number; readonly end: number } | null;
  readonly filters: Readonly<Record<FilterField, readonly string[]>>;
  readonly page: number;
  readonly rowsPerPage: number;
  readonly order: 'asc' | 'desc';
  readonly meta: readonly MetaField[];
  readonly grouped: boolean;
  readonly callback: string | undefined;
}

export class BadParameter extends Error {
  constructor(
    readonly parameter: string,
    detail: string,
  ) {
    super(`parameter "${parameter}" ${detail}`);
  }
}

/**
 * Epoch seconds (float) or an ISO-8601 date; a date or date-time without a zone is UTC, as
 * datagrepper reads it, never the server's local time.
 */
export function parseTime(name: string, raw: string): number {
  const long = tooLongNumber(raw);
  if (long !== null) throw new BadParameter(name, `${quoted(raw)} ${long}`);
  const s = raw.trim();
  const n = Number(s);
  if (isDecimal(s) && Number.isFinite(n)) {
    if (n < 0) throw new BadParameter(name, `${quoted(raw)} must not be negative`);
    return n;
  }
  const iso = isoSeconds(s);
  if (typeof iso === 'object' && iso !== null)
    throw new BadParameter(name, `${quoted(raw)} is no such date: ${iso.noSuchDay}`);
  if (iso !== null && iso >= 0) return iso;
  throw new BadParameter(name, `${quoted(raw)} must be ${ISO_FORM}`);
}

function positiveNumber(name: string, raw: string): number {
  const long = tooLongNumber(raw);
  if (long !== null) throw new BadParameter(name, `${quoted(raw)} ${long}`);
  const n = Number(raw);
  if (!isDecimal(raw.trim()) || !Number.isFinite(n) || n <= 0)
    throw new BadParameter(name, `${quoted(raw)} must be a number of seconds > 0`);
  return n;
}

/**
 * A whole number from 1 to `max` (at most Number.MAX_SAFE_INTEGER, 16 digits). Past 16 digits it
 * is too large whatever they are; 16 digits within the bound are read, as the bound the refusal
 * names says (every 16-digit page was refused as "must be at most 9007199254740991", that
 * number included).
 */
function wholeNumber(name: string, raw: string, max: number): number {
  if (/^\d{17,}$/.test(raw)) throw new BadParameter(name, `${quoted(raw)} must be at most ${max}`);
  if (!/^\d{1,16}$/.test(raw)) throw new BadParameter(name, `${quoted(raw)} must be a whole number >= 1`);
  const n = Number(raw);
  if (n < 1) throw new BadParameter(name, `${quoted(raw)} must be >= 1`);
  if (n > max) throw new BadParameter(name, `${quoted(raw)} must be at most ${max}`);
  return n;
}

/** The time window rules of datagrepper.md, given "now" in epoch seconds. */
export function resolveWindow(
  start: number | undefined,
  end: number | undefined,
  delta: number | undefined,
  now: number,
): { start: number; end: number } | null {
  if (start !== undefined && end !== undefined) return { start, end };
  if (start !== undefined) {
    const sum = delta !== undefined ? start + delta : now;
    // 1e308 + 1e308: no window ends at Infinity (it was echoed as "end": null).
    if (!Number.isFinite(sum)) throw new BadParameter('delta', `${delta} after start ${start} ends past any time`);
    return { start, end: sum };
  }
  if (end !== undefined) return { start: end - (delta ?? END_ONLY_SPAN), end };
  if (delta !== undefined) return { start: now - delta, end: now };
  return null;
}

export const one = (params: URLSearchParams, name: string): string | undefined => {
  const all = params.getAll(name);
  if (all.length > 1) throw new BadParameter(name, 'must be given once');
  return all[0];
};

/** Validates a `/raw` query string; throws BadParameter naming the first bad parameter. */
export function parseHistoryQuery(params: URLSearchParams, now: number): HistoryQuery {
  const time = (name: string) => {
    const raw = one(params, name);
    return raw === undefined ? undefined : parseTime(name, raw);
  };
  const start = time('start');
  const end = time('end');
  const deltaRaw = one(params, 'delta');
  const delta = deltaRaw === undefined ? undefined : positiveNumber('delta', deltaRaw);
  const window = resolveWindow(start, end, delta, now);
  if (window && window.end < window.start) {
    // Without `end` the window ends now: the client's `start` is what lies past it, not an end it never sent.
    if (end === undefined)
      throw new BadParameter(
        'start',
        `(${window.start}) is after now (${window.end}), where a window without end ends`,
      );
    throw new BadParameter('end', `(${window.end}) is before start (${window.start})`);
  }

  const filters = {} as Record<FilterField, string[]>;
  for (const [param, field] of Object.entries(FILTERS) as [FilterParam, FilterField][]) {
    const values = params.getAll(param);
    if (values.length > MAX_VALUES)
      throw new BadParameter(param, `is given ${values.length} times; at most ${MAX_VALUES}`);
    const longest = param === 'contains' ? CONTAINS_MAX_LENGTH : MAX_VALUE_LENGTH;
    for (const v of values)
      if (v.length > longest) throw new BadParameter(param, `value is ${v.length} characters long; at most ${longest}`);
    filters[field] = values;
  }

  const pageRaw = one(params, 'page');
  const page = pageRaw === undefined ? 1 : wholeNumber('page', pageRaw, Number.MAX_SAFE_INTEGER);
  const rppRaw = one(params, 'rows_per_page');
  const rowsPerPage =
    rppRaw === undefined
      ? HISTORY_DEFAULT_ROWS_PER_PAGE
      : wholeNumber('rows_per_page', rppRaw, HISTORY_MAX_ROWS_PER_PAGE);
  const orderRaw = one(params, 'order') ?? 'desc';
  if (orderRaw !== 'asc' && orderRaw !== 'desc')
    throw new BadParameter('order', `${quoted(orderRaw)} must be asc or desc`);

  const meta = parseMetaFields(params);
  const groupedRaw = (one(params, 'grouped') ?? 'false').toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no', ''].includes(groupedRaw))
    throw new BadParameter('grouped', `${quoted(groupedRaw)} must be true or false`);
  const grouped = ['true', '1', 'yes'].includes(groupedRaw);
  const callback = parseCallback(params);
  return { window, filters, page, rowsPerPage, order: orderRaw, meta, grouped, callback };
}

/** `meta` is repeatable (comma-separated lists are accepted too); an unknown field is a 400, not silently dropped. */
export function parseMetaFields(params: URLSearchParams): MetaField[] {
  const meta: MetaField[] = [];
  for (const value of params.getAll('meta').flatMap((v) => v.split(','))) {
    const name = value.trim();
    if (name === '') continue;
    if (!(META_FIELDS as readonly string[]).includes(name))
      throw new BadParameter('meta', `${quoted(name)} is not one of ${META_FIELDS.join(', ')}`);
    if (!meta.includes(name as MetaField)) meta.push(name as MetaField);
  }
  return meta;
}

export function parseCallback(params: URLSearchParams): string | undefined {
  const callback = one(params, 'callback');
  if (callback !== undefined && !CALLBACK_PATTERN.test(callback))
    throw new BadParameter('callback', `${quoted(callback)}: ${CALLBACK_RULE}`);
  return callback;
}

/** The `arguments` object datagrepper echoes: the resolved window and every filter, even empty ones. */
export function argumentsOf(q: HistoryQuery): Record<string, unknown> {
  return {
    start: q.window?.start ?? null,
    end: q.window?.end ?? null,
    delta: q.window ? q.window.end - q.window.start : null,
    ...q.filters,
    page: q.page,
    rows_per_page: q.rowsPerPage,
    order: q.order,
    meta: q.meta,
    grouped: q.grouped,
  };
}

/** What was asked, as given, for error answers (the query could not be resolved). */
export function rawArguments(params: URLSearchParams): Record<string, string | string[]> {
  // fromEntries defines own properties, so a parameter named __proto__ stays a plain key.
  return Object.fromEntries(
    [...new Set(params.keys())].slice(0, 50).map((key) => {
      const values = params.getAll(key).map((v) => (v.length > 200 ? `${v.slice(0, 200)}…` : v));
      return [key.slice(0, 100), values.length === 1 ? (values[0] as string) : values];
    }),
  );
}
