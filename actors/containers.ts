/**
 * The extra containers a plugin declares in `stores`: what each spec means once validated,
 * how the runtime builds it, and what the plugin gets to hold. Expiry (an `expireAfter`
 * store, a windowed counter) is driven by message time through advance(): no timers.
 */
import { StatscacheError } from './errors.js';
import { ExpiringStore } from './expiring-store.js';
import { parseInterval } from './interval.js';
import { KeyedStore } from './keyed-store.js';
import { WindowedCounter } from './windowed-counter.js';

/** Longest expiry or window: ten years of message time, like the longest built-in retention. */
export const MAX_EXPIRY_SECONDS = 3650 * 86_400;
/** Most slices per windowed counter: each is a walk of its entries when it expires. */
export const MAX_SLICES = 10_000;

export type ContainerPlan =
  | { readonly kind: 'store'; readonly expireAfter: number | null }
  | { readonly kind: 'windowedCounter'; readonly span: number; readonly slices: number };

/** A container whose entries leave as message time moves on. */
export interface TimedContainer {
  /** `now`: the newest message time including this message's; returns the entries deleted. */
  advance(now: number, messageTime: number): number;
}

const fail = (label: string, name: string, what: string): never => {
  throw new StatscacheError('SC_PLUGIN_EXPIRY_INVALID', `plugin "${label}": store "${name}": ${what}`);
};

function seconds(v: unknown, label: string, name: string, field: string): number {
  if (typeof v !== 'string' && typeof v !== 'number')
    return fail(label, name, `"${field}" must be a string like "24h" or seconds, got ${JSON.stringify(v) ?? typeof v}`);
  let s: number;
  try {
    s = parseInterval(v, label);
  } catch {
    return fail(
      label,
      name,
      `"${field}" ${JSON.stringify(v)} is not a positive [Nd][Nh][Nm][Ns] interval or whole number of seconds`,
    );
  }
  if (s > MAX_EXPIRY_SECONDS)
    fail(label, name, `"${field}" ${JSON.stringify(v)} is longer than ${MAX_EXPIRY_SECONDS} s (3650d)`);
  return s;
}

/** Validates one entry of `stores` (made with store() or windowedCounter()); throws a coded error naming the value. */
export function planContainer(spec: unknown, label: string, name: string): ContainerPlan {
  const s = spec as { kind?: unknown; expireAfter?: unknown; span?: unknown; slices?: unknown } | null;
  if (name === 'rows' || s === null || typeof s !== 'object' || (s.kind !== 'store' && s.kind !== 'windowedCounter')) {
    throw new StatscacheError(
      'SC_PLUGIN_FIELD_INVALID',
      `plugin "${label}": store "${name}" must be made with store() or windowedCounter() and may not be called "rows"`,
    );
  }
  if (s.kind === 'store')
    return {
      kind: 'store',
      expireAfter: s.expireAfter === undefined ? null : seconds(s.expireAfter, label, name, 'expireAfter'),
    };
  const span = seconds(s.span, label, name, 'span');
  const slices = s.slices;
  if (typeof slices !== 'number' || !Number.isInteger(slices) || slices < 1 || slices > MAX_SLICES) {
    fail(
      label,
      name,
      `"slices" must be a whole number from 1 to ${MAX_SLICES}, got ${JSON.stringify(slices) ?? typeof slices}`,
    );
  }
  if (span % (slices as number) !== 0)
    fail(label, name, `span ${span} s is not a whole number of seconds per slice with ${slices as number} slices`);
  return { kind: 'windowedCounter', span, slices: slices as number };
}

export function createContainer(plan: ContainerPlan): KeyedStore<unknown> {
  if (plan.kind === 'windowedCounter') return new WindowedCounter(plan.span, plan.slices) as KeyedStore<unknown>;
  return plan.expireAfter === null ? new KeyedStore() : (new ExpiringStore(plan.expireAfter) as KeyedStore<unknown>);
}

export function isTimed(c: KeyedStore<unknown>): c is KeyedStore<unknown> & TimedContainer {
  return c instanceof WindowedCounter || c instanceof ExpiringStore;
}

/** What the plugin's update and view hold for a container: an expiring store hides its stamps. */
export function pluginFacing(c: KeyedStore<unknown>): unknown {
  return c instanceof ExpiringStore ? c.writer : c;
}
