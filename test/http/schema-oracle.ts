/**
 * Which query values a documented parameter must refuse, read from its JSON Schema in the
 * service's OpenAPI document: only values no reading of the schema allows (not a number where
 * one is required, past a bound, outside an enum, no day of the calendar), so a value it flags
 * answered 2xx is a bad parameter the service took. Written apart from the parsers it checks.
 */
type Schema = Readonly<Record<string, unknown>>;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
// RFC 3339 5.6 (format date-time): T and Z may be written lowercase.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?([Zz]|[+-](\d{2}):?(\d{2}))?$/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number a value means, surrounding blanks aside; null when it is no finite decimal number. */
function numberOf(value: string): number | null {
  const t = value.trim();
  if (!DECIMAL.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** Whether a value is an ISO-8601 date or date-time of a real day and time. */
function isRealDate(value: string): boolean {
  const m = ISO.exec(value.trim());
  if (m === null) return false;
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0));
  const leap = (y as number) % 4 === 0 && ((y as number) % 100 !== 0 || (y as number) % 400 === 0);
  const days = mo === 2 && leap ? 29 : MONTH_DAYS[(mo as number) - 1];
  if (days === undefined || (d as number) < 1 || (d as number) > days) return false;
  if ((h as number) > 24 || (mi as number) > 59 || (s as number) > 59) return false;
  return m[8] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
}

const types = (schema: Schema): readonly unknown[] =>
  Array.isArray(schema['type']) ? (schema['type'] as unknown[]) : [schema['type']];

/** A time: a number or a date (`anyOf` of both, or datagrepper's `["number", "string"]`). */
function isTime(schema: Schema): boolean {
  const any = schema['anyOf'];
  if (Array.isArray(any))
    return any.some((s: Schema) => s['type'] === 'number') && any.some((s: Schema) => typeof s['format'] === 'string');
  const t = types(schema);
  return t.includes('number') && t.includes('string');
}

/** True when `value` (as the server decodes it from the query) cannot be a valid value of `schema`. */
export function mustRefuse(schema: Schema, value: string): boolean {
  if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'] as string).test(value)) return true;
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value)) return true;
  if (typeof schema['maxLength'] === 'number' && value.length > (schema['maxLength'] as number)) return true;
  if (isTime(schema)) return numberOf(value) === null && !isRealDate(value);
  const t = types(schema);
  if (!t.includes('integer') && !t.includes('number')) return false;
  const n = numberOf(value);
  if (n === null) return true;
  if (t.includes('integer') && !Number.isInteger(n)) return true;
  if (typeof schema['minimum'] === 'number' && n < (schema['minimum'] as number)) return true;
  return typeof schema['maximum'] === 'number' && n > (schema['maximum'] as number);
}
