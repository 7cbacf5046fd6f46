import type { StoredState } from '../actors/plugin-api.js';
import type { RegisteredPlugin } from '../actors/registry.js';
import { rowKeyOf } from '../actors/row-key.js';
import type { PluginRecord } from './format.js';

/**
 * What a plugin's stored state means, beside its `version`: the columns that key its rows, the
 * columns its rows hold, and the layout of each store. A snapshot records it per plugin, so a
 * definition changed between runs without a version bump is caught at restore. Before, the
 * state was loaded as it was and misread: rows kept under keys the new key columns no longer
 * build were served beside the new rows for the same thing, a renamed store's entries were
 * dropped without a word (and gone for good at the next snapshot), and a store turned into a
 * windowed counter took its values for counts.
 */
export interface PluginShape {
  readonly key: readonly string[];
  readonly columns: readonly string[];
  /** Per store: `store`, `expiring store` or `windowed counter of <n> s slices` (what its entries are). */
  readonly stores: Readonly<Record<string, string>>;
}

export function shapeOf(plugin: RegisteredPlugin): PluginShape {
  const stores: Record<string, string> = {};
  for (const [name, plan] of Object.entries(plugin.storePlans)) {
    // A window's entries are keyed by slice start (epoch-aligned), so only the slice width matters; an
    // expiring store keeps { timestamp, value } whatever its expireAfter.
    stores[name] =
      plan.kind === 'windowedCounter'
        ? `windowed counter of ${plan.span / plan.slices} s slices`
        : plan.expireAfter === null
          ? 'store'
          : 'expiring store';
  }
  return { key: [...plugin.definition.key], columns: [...plugin.definition.columns], stores };
}

/** A record's shape as written, or null when it has none (written before shapes were kept, or hand-edited). */
function recordedShape(record: PluginRecord): PluginShape | null {
  const s = (record as { shape?: unknown }).shape as Partial<Record<keyof PluginShape, unknown>> | undefined;
  if (typeof s !== 'object' || s === null) return null;
  const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!isList(s.key) || !isList(s.columns) || typeof s.stores !== 'object' || s.stores === null) return null;
  if (!Object.values(s.stores).every((v) => typeof v === 'string')) return null;
  return s as PluginShape;
}

const list = (names: readonly string[]) => `[${names.join(', ')}]`;
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * How the state a record describes differs from what the plugin now declares, in words (empty:
 * it reads as written). A store declared now and absent from the record is no difference (it
 * starts empty); one the record holds entries for and the plugin no longer declares is.
 */
export function shapeChanges(record: PluginRecord, now: PluginShape): string[] {
  const out: string[] = [];
  const was = recordedShape(record);
  if (was !== null) {
    if (!same(was.key, now.key)) out.push(`key columns ${list(was.key)} are now ${list(now.key)}`);
    if (!same(was.columns, now.columns)) out.push(`columns ${list(was.columns)} are now ${list(now.columns)}`);
    for (const [name, layout] of Object.entries(was.stores)) {
      const current = now.stores[name];
      if (current !== undefined && current !== layout) out.push(`store "${name}" changed from ${layout} to ${current}`);
    }
  }
  // Records from before shapes were kept still list their stores.
  for (const name of record.stores) {
    if (name === 'rows' || name in now.stores) continue;
    const entries = record.entries?.[name];
    if (entries !== 0) out.push(`store "${name}" (${entries ?? 'some'} entries) is no longer declared`);
  }
  return out;
}

/**
 * A migrate hook's answer made to fit the plugin as declared now, or a reason it cannot (the
 * caller refuses the start with it). Rows are stored under the key their key columns give, as
 * `rows.put` stores them: the hook's map keys are only transport, so a hook that changes the key
 * columns need not build keys by hand (before, its keys were loaded as given, and rows under keys
 * the columns do not give were served beside the rows later messages wrote for the same thing).
 * A store the plugin does not declare would be dropped without a word: named instead.
 */
export function conformToShape(plugin: RegisteredPlugin, stored: StoredState): StoredState | string {
  const undeclared = Object.keys(stored.stores).filter((name) => !plugin.storeNames.includes(name));
  if (undeclared.length > 0)
    return `stores the plugin does not declare (${undeclared.map((n) => JSON.stringify(n)).join(', ')}): move their entries into a declared store, or leave them out to drop them`;
  const rows = new Map<string, unknown>();
  const from = new Map<string, string>();
  for (const [given, row] of stored.rows) {
    // A row that is no object is left as given: restore's row check names it.
    const key =
      typeof row === 'object' && row !== null ? rowKeyOf(plugin.definition.key, row as Record<string, unknown>) : given;
    const other = from.get(key);
    if (other !== undefined)
      return `two rows with the same key columns [${plugin.definition.key.join(', ')}] (map keys ${JSON.stringify(other)} and ${JSON.stringify(given)}): one would be lost`;
    from.set(key, given);
    rows.set(key, row);
  }
  return { rows, stores: stored.stores };
}
