import { checkShape } from '../envelope-limits.js';

/**
 * Deepest nesting an export's plugin value may have, counted as actors/storable-value.ts counts
 * it (the value itself is level 1). A plugin keeps at most MAX_VALUE_DEPTH levels (one more in an
 * expiring store's entry); older builds kept any, so the bound leaves room for them. A value
 * nested ~1,300 levels deep was imported and then no `snapshot export` (nor a peer's
 * `/admin/export`) could write the data dir (msgpackr overflowed the stack); ~4,200 deep,
 * every answer of its plugin was `500 internal` (JSON.stringify overflowed), on every start.
 */
export const MAX_EXPORT_VALUE_DEPTH = 256;

/** Whether `value` nests arrays and objects more than `max` levels deep (walked without recursion, as it may be deep). */
export const nestsDeeperThan = (value: unknown, max: number): boolean =>
  checkShape(value, max, Number.POSITIVE_INFINITY) !== null;
