import * as z from 'zod';
import { isBoundedInterval } from '../actors/interval.js';
import { isDecimal } from './http/query-params.js';

/**
 * One entry per setting, and the only place a setting is declared: the config schema, the
 * environment name, the CLI flag with its --help line and the README's settings table are all
 * derived from it (src/setting-derive.ts). Adding a setting is adding an entry to its area's
 * module (src/settings-*.ts), which src/settings.ts assembles into SETTINGS.
 */
export interface Setting {
  /**
   * Type and bounds, built when first needed: zod takes ~0.3 ms to build one, and building every
   * setting's at each start cost ~50 ms of CPU (a start validates only the settings given).
   */
  readonly type: () => z.ZodType;
  /** The value when no source gives one (as zod's `.default()`: used as it is, not validated); none: undefined. */
  readonly default?: unknown;
  /** Known without building the type (a test checks it against the type): a list is a repeatable flag and comma-separated in the environment; an object is JSON there. */
  readonly kind?: 'list' | 'object';
  /** An enum's values, known without building the type (a test checks it against the type): the flag's choices. */
  readonly choices?: readonly string[];
  /** Placeholder of the flag `--<kebab-case key>` (`''`: a switch without a value); null: config file and environment only. */
  readonly flag: string | null;
  /** What it does, in Markdown: the README's "meaning" column, and the --help line with the Markdown removed. */
  readonly help: string;
  /** Appended to the schema default in brackets, in Markdown, when the value alone does not say enough. */
  readonly defaultNote?: string;
  /** Replaces the schema default (Markdown), for a default that depends on other settings. */
  readonly defaultText?: string;
}

export const interval = (message: string) => z.string().refine(isBoundedInterval, message);
/**
 * Flags and the environment give strings: one written as a decimal number is read as that
 * number; anything else stays as it is and fails as not a number. z.coerce read "" and " " as
 * 0 (an unset variable in a unit file gave a random port and a zero clock skew), true as 1,
 * null and [] as 0, and 0x1F90 as 8080.
 */
const decimal = (v: unknown): unknown => (typeof v === 'string' && isDecimal(v.trim()) ? Number(v.trim()) : v);
export const numeric = <T extends z.ZodNumber>(inner: T) => z.preprocess(decimal, inner);
export const count = (min: number, max: number) => numeric(z.number().int().min(min).max(max));
export const seconds = (min: number, max: number) => numeric(z.number().min(min).max(max));

const entries = (v: unknown): number =>
  Array.isArray(v) ? v.length : typeof v === 'object' && v !== null ? Object.keys(v).length : 0;
/** The refusal names the count: the value shown after it is cut short. */
const tooMany = (max: number) => (iss: { readonly input?: unknown }) => `${entries(iss.input)} entries, at most ${max}`;
/** A list setting of at most `max` entries (src/setting-list-bounds.ts). */
export const list = <T extends z.ZodType>(item: T, max: number) => z.array(item).max(max, { error: tooMany(max) });
/** An object setting of at most `max` members, each name at most `nameMax` characters. */
export const members = <T extends z.ZodType>(value: T, max: number, nameMax: number) =>
  z
    .record(z.string(), value)
    .refine((o) => Object.keys(o).length <= max, { error: tooMany(max) })
    // On the record, not its key schema: zod words a key's own refusal as 'Invalid key in record'.
    .refine((o) => longestName(o) <= nameMax, {
      error: (iss) => `a member name of ${longestName(iss.input)} characters, at most ${nameMax}`,
    });
function longestName(o: unknown): number {
  let longest = 0;
  // A loop, not Math.max(...names): the count's refusal does not stop this check, and spread
  // arguments overflow the stack at some hundred thousand names.
  if (typeof o === 'object' && o !== null) for (const k of Object.keys(o)) longest = Math.max(longest, k.length);
  return longest;
}
