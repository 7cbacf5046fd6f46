import * as z from 'zod';
import type { ParamSpec } from '../../actors/plugin-api.js';
import type { RegisteredPlugin } from '../../actors/registry.js';
import { type ViewQuery, viewParams } from '../../actors/view-query.js';
import { ISO_FORM, isoSeconds } from './iso-time.js';
import { quoted } from './responses.js';

export const MAX_ROWS_PER_PAGE = 100;
/**
 * The deepest row a page may reach (config maxPageDepth), as Elasticsearch's
 * `index.max_result_window`: a page costs the rows before it, to the HTTP answer and to every
 * recompute of a live view. Paging clients of the contract (the dashboards, allRows in the
 * examples: 50 pages of 100) stay well within it.
 */
export const DEFAULT_MAX_PAGE_DEPTH = 10_000;

/** A JSON-P callback must be a plain identifier path, so it cannot inject script. */
export const CALLBACK_PATTERN = /^[A-Za-z_$][\w$]{0,127}(\.[A-Za-z_$][\w$]{0,127}){0,7}$/;
export const CALLBACK_RULE = 'must be a JavaScript identifier path like jQuery123_456';

/**
 * A number written in decimal, as datagrepper's float() reads it: `Number()` alone also takes
 * `0x10`, `0b11`, `0o7` and surrounding blanks, which no client means as epoch seconds. The
 * fraction is one optional group after the digits: written `\d+\.?\d*`, the digits could be
 * split between the two runs in every way, and a failing match tried them all (quadratic: a
 * `start` of 60,000 digits and one letter held the event loop 4 to 5 s).
 */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
export const isDecimal = (s: string): boolean => DECIMAL.test(s);

/**
 * Longest value of a number or time parameter (`start`, `stop`, `end`, `delta`, a plugin's
 * number), in UTF-16 units. A double has 17 significant digits and the longest ISO-8601 form
 * read here (`2015-11-04T10:01:00.123456789+05:30`) is 35 characters; without a bound a value
 * as long as the URL (64 KB and more) was parsed and checked in full.
 */
export const MAX_NUMBER_CHARS = 64;
export const tooLongNumber = (s: string): string | null =>
  s.length > MAX_NUMBER_CHARS ? `is ${s.length} characters long; at most ${MAX_NUMBER_CHARS}` : null;

/** Epoch seconds (float) or an ISO-8601 date; a date without a zone is UTC, never local time. */
const epochSeconds = z
  .string()
  .transform((s, ctx) => {
    const long = tooLongNumber(s);
    if (long !== null) {
      ctx.addIssue({ code: 'custom', message: long });
      return z.NEVER;
    }
    const n = Number(s);
    if (isDecimal(s.trim()) && Number.isFinite(n)) return n;
    const iso = isoSeconds(s.trim());
    if (typeof iso === 'object' && iso !== null) {
      ctx.addIssue({ code: 'custom', message: `no such date: ${iso.noSuchDay}` });
      return z.NEVER;
    }
    if (iso !== null) return iso;
    ctx.addIssue({ code: 'custom', message: `must be ${ISO_FORM}` });
    return z.NEVER;
  })
  .pipe(z.number())
  // What OpenAPI and discovery show: the value may be written either way.
  .meta({
    anyOf: [{ type: 'number' }, { type: 'string', format: 'date-time' }, { type: 'string', format: 'date' }],
    examples: [1446631260, '2015-11-04T10:01:00Z'],
  });

const positiveInt = z
  .string()
  .regex(/^\d+$/, 'must be a whole number >= 1')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be >= 1').max(Number.MAX_SAFE_INTEGER));

/**
 * The parameters every `/api/<ident>` view takes (statscache-api.md). The same schema
 * validates requests and generates the OpenAPI document, discovery and the docs page.
 */
export const viewParamsSchema = z.object({
  order: z
    .string()
    .optional()
    .meta({
      description: '`asc` or `desc` by timestamp; anything else means desc',
      default: 'desc',
      examples: ['asc', 'desc'],
    }),
  limit: positiveInt.optional().meta({
    description: 'cap on the rows considered before paging (the newest `limit` rows for desc, the oldest for asc)',
  }),
  start: epochSeconds.optional().meta({
    description: 'only rows with timestamp >= start: epoch seconds (float) or ISO-8601, UTC when no zone is given',
  }),
  stop: epochSeconds.optional().meta({
    description:
      "only rows with timestamp <= stop: epoch seconds (float) or ISO-8601, UTC when no zone is given. Default: now plus the plugin's interval, " +
      'because rows are stamped with the END of their bucket and a bare "now" would hide the bucket in progress',
  }),
  page: positiveInt.optional().meta({
    description:
      '1-based page number; a page past the last one is a 400, and so is one reaching deeper than the server pages (`page` × `rows_per_page` over `--max-page-depth`, 10000 by default): narrow with `start`/`stop` instead',
    default: 1,
  }),
  rows_per_page: positiveInt.optional().meta({
    description: `page size; larger values are clamped to ${MAX_ROWS_PER_PAGE}, 0 or a non-number is a 400`,
    default: MAX_ROWS_PER_PAGE,
  }),
  callback: z
    .string()
    .regex(CALLBACK_PATTERN, CALLBACK_RULE)
    .optional()
    .meta({
      description: `JSON-P function name, used when Accept asks for JavaScript (or */*); ${CALLBACK_RULE}`,
      examples: ['jQuery123_456'],
    }),
  _: z.string().optional().meta({ description: "ignored (jQuery's cache buster)" }),
});

function paramSchema(spec: ParamSpec): z.ZodType<unknown> {
  switch (spec.type) {
    case 'string': {
      const [first, ...rest] = spec.enum ?? [];
      if (first !== undefined)
        return z.enum([first, ...rest], { error: `must be one of ${[first, ...rest].join(', ')}` });
      // A lone surrogate can come in a WebSocket frame's JSON (a URL's bytes decode to U+FFFD):
      // the view's canonical name percent-encodes the value, which throws on one, and the
      // subscription went unanswered. Refused here, as any value the parameter cannot take.
      return z
        .string()
        .max(spec.maxLength ?? 256)
        .refine((s) => s.isWellFormed(), 'must be well-formed Unicode text (it holds a lone surrogate)');
    }
    case 'boolean':
      return z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
    case 'number':
    case 'integer': {
      let n = z.number();
      if (spec.type === 'integer') n = n.int();
      if (spec.min !== undefined) n = n.min(spec.min);
      if (spec.max !== undefined) n = n.max(spec.max);
      // Bounded first: zod runs every check of a string even after one failed.
      return z
        .string()
        .max(MAX_NUMBER_CHARS, `must be at most ${MAX_NUMBER_CHARS} characters`)
        .regex(/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i, 'must be a number')
        .transform(Number)
        .pipe(n);
    }
  }
}

const paramsSchemas = new WeakMap<RegisteredPlugin, z.ZodObject>();
/**
 * The schema of one plugin's parameters, built once per plugin from its definition and shared:
 * the HTTP routes, the live views and discovery each built their own, every start.
 */
export function pluginParamsSchema(plugin: RegisteredPlugin): z.ZodObject {
  let schema = paramsSchemas.get(plugin);
  if (schema === undefined) {
    const shape: Record<string, z.ZodType<unknown>> = {};
    for (const [name, spec] of Object.entries(plugin.params))
      shape[name] = paramSchema(spec).optional().meta({ description: spec.description });
    schema = z.object(shape);
    paramsSchemas.set(plugin, schema);
  }
  return schema;
}

export class BadParameter extends Error {
  constructor(
    readonly parameter: string,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * First value of each parameter (a repeated one takes its first value, as Flask did). No
 * prototype: `constructor` is a valid plugin parameter name, and a plain object inherited it
 * (the client's value was dropped, an unset one read as a function and was refused).
 */
export function firstValues(query: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of query) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

/**
 * Validates a view query (HTTP `/api/<ident>`, and WebSocket and SSE subscriptions through
 * ws-view-spec); throws BadParameter naming the first bad parameter. `stop` defaults to now
 * plus the plugin's interval: rows are stamped with their bucket's end, so a bare "now" would
 * hide the bucket in progress. A page reaching past `maxPageDepth` rows is refused here,
 * before any row is read.
 */
export function parseViewQuery(
  values: Record<string, string>,
  pluginSchema: z.ZodObject,
  defaultStop: number,
  maxPageDepth: number,
): ViewQuery & { callback?: string | undefined } {
  const common = check(viewParamsSchema, values);
  const params = check(pluginSchema, pick(values, Object.keys(pluginSchema.shape)));
  const page = common.page ?? 1;
  const rowsPerPage = Math.min(common.rows_per_page ?? MAX_ROWS_PER_PAGE, MAX_ROWS_PER_PAGE);
  if (page * rowsPerPage > maxPageDepth) {
    throw new BadParameter(
      'page',
      `parameter "page" ${quoted(values['page'] ?? '')}: page ${page} of ${rowsPerPage} rows reaches row ${page * rowsPerPage}, deeper than this server pages (${maxPageDepth} rows, --max-page-depth); narrow the rows with start/stop (or order=asc for the oldest) instead`,
    );
  }
  return {
    order: common.order === 'asc' ? 'asc' : 'desc',
    limit: common.limit,
    start: common.start,
    stop: common.stop ?? defaultStop,
    page,
    rowsPerPage,
    params: viewParams(params),
    callback: common.callback,
  };
}

function pick(values: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k of keys) if (Object.hasOwn(values, k) && values[k] !== undefined) out[k] = values[k];
  return out;
}

function check<T extends z.ZodType>(schema: T, values: Record<string, string>): z.infer<T> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'query');
  throw new BadParameter(name, `parameter "${name}" ${quoted(values[name] ?? '')}: ${issue?.message ?? 'invalid'}`);
}
