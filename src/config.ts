import * as z from 'zod';
import { StatscacheError } from '../actors/errors.js';
import { duplicateKey } from './json-duplicate-keys.js';
import { readConfigFile } from './config-file.js';
import { clipped, shown } from './config-shown.js';
import { minimumBudget } from './bus-budget.js';
import { BIND_PUBLISHERS } from './bus-queue.js';
import { deepFreeze } from './deep-freeze.js';
import { nearestName } from './edit-distance.js';
import { defaultOf, envNameOf, flagOf, kindOf, SETTING_KEYS, schemaOf, settingsShape } from './setting-derive.js';
import { CONFIG_FILE } from './settings.js';
import { DEFAULT_BIND } from './settings-bus.js';

const settingsObject = () => z.object(settingsShape()).strict();
type Parsed = z.output<ReturnType<typeof settingsObject>>;

/** A check across settings, blaming one of them. */
interface CrossCheck {
  readonly key: keyof Parsed;
  readonly holds: (c: Parsed) => boolean;
  readonly message: string;
}
const CROSS_CHECKS: readonly CrossCheck[] = [
  // One client must never be able to take every live view from the others.
  {
    key: 'wsMaxSubscriptionsPerIp',
    holds: (c) => c.wsMaxSubscriptionsPerIp <= Math.floor(c.wsMaxViews / 2),
    message: 'must be at most half of wsMaxViews (--ws-max-views), so one client IP cannot take every live view',
  },
  // Below one window, a connection could never consume.
  {
    key: 'amqpMaxHeld',
    holds: (c) => c.amqpMaxHeld === null || c.amqpMaxHeld >= c.amqpPrefetch,
    message: 'must be at least amqpPrefetch (--amqp-prefetch): one whole window is held on every connection',
  },
];

let schema: ReturnType<typeof settingsObject> | undefined;
/** Every setting, its type, bounds and default, then the checks across them: built on first use (every setting's schema). */
export function configSchema(): ReturnType<typeof settingsObject> {
  schema ??= CROSS_CHECKS.reduce(
    (object, check) => object.refine(check.holds, { path: [check.key], message: check.message }),
    settingsObject(),
  );
  return schema;
}

/**
 * The whole schema's result when it accepts `merged`, without building it: each setting given is
 * parsed by its own schema, the rest are at their defaults (which zod does not validate either),
 * then the cross-setting checks. Undefined when anything fails, for the whole schema to say why
 * (which issue comes first, its message and path are zod's): a start builds and runs only the
 * schemas of the settings it is given.
 */
function parseGiven(merged: Record<string, unknown>): Parsed | undefined {
  // An unknown key: the whole schema refuses it (strict).
  for (const key in merged) if (!Object.hasOwn(ENV_NAMES, key)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    if (key in merged) {
      const parsed = schemaOf(key).safeParse(merged[key]);
      if (!parsed.success) return undefined;
      out[key] = parsed.data;
    } else {
      // An optional setting's absent key stays absent, as in zod's object.
      const value = defaultOf(key);
      if (value !== undefined) out[key] = value;
    }
  }
  const c = out as Parsed;
  return CROSS_CHECKS.every((check) => check.holds(c)) ? c : undefined;
}

export { DEFAULT_BIND };

export type Config = Readonly<Omit<Parsed, 'bind'> & { bind: readonly string[] }>;
export type ConfigKey = keyof Config;

/** Environment variable per setting (STATSCACHE_ + the key in SCREAMING_SNAKE); lists are comma-separated. */
export const ENV_NAMES: Readonly<Record<ConfigKey, string>> = Object.fromEntries(
  SETTING_KEYS.map((k) => [k, envNameOf(k)]),
) as Record<ConfigKey, string>;

export interface ConfigSources {
  /** Below the config file: a command's own defaults (`demo` keeps its data apart from `serve`'s). */
  readonly defaults?: Partial<Record<ConfigKey, unknown>>;
  readonly flags?: Partial<Record<ConfigKey, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (from --config or STATSCACHE_CONFIG). */
  readonly file?: string | undefined;
  /**
   * The settings a command uses (`meta`: maxFanout): only these are taken from the config file
   * and the environment, so another setting's bad value is no reason to refuse it; the rest
   * stay at their defaults. A file key that names no setting is still refused, as `serve` does.
   */
  readonly only?: readonly ConfigKey[];
}

/**
 * Precedence, lowest to highest: built-in defaults, config file, environment, flags.
 * Parsed and validated once, then frozen; a bad value throws SC_CONFIG_INVALID naming the
 * setting and where it came from.
 */
export function loadConfig(sources: ConfigSources): Config {
  // No prototype, as `merged`: a "__proto__" key's origin read back Object.prototype, and the refusal
  // said it came from "[object Object]".
  const origin: Partial<Record<string, string>> = Object.create(null) as Partial<Record<string, string>>;
  // No prototype: a config file's "__proto__" key set the prototype of a plain object ({"__proto__":
  // {"port": 1}} gave port 1 and no unknown-key error); here it is an own key, refused as unknown.
  const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(sources.defaults ?? {})) if (value !== undefined) merged[key] = value;
  // An empty --config (an unset variable in a unit file) named no file and hid STATSCACHE_CONFIG too.
  if (sources.file === '')
    throw new StatscacheError('SC_CONFIG_INVALID', '--config "" names no file: give the path of a JSON config file');
  const path = sources.file ?? sources.env?.[CONFIG_FILE.env];
  const skipped = (key: string) =>
    sources.only !== undefined && Object.hasOwn(ENV_NAMES, key) && !sources.only.includes(key as ConfigKey);
  if (path) {
    for (const [k, v] of Object.entries(readConfigFile(path))) {
      if (skipped(k)) continue;
      merged[k] = v;
      origin[k] = `config file ${path}`;
    }
  }
  for (const [key, name] of Object.entries(ENV_NAMES) as [ConfigKey, string][]) {
    const raw = sources.env?.[name];
    if (raw === undefined || raw === '' || skipped(key)) continue;
    const kind = kindOf(key);
    // Empty items are dropped: a trailing comma in STATSCACHE_TOPIC made an empty prefix, which subscribes to everything.
    merged[key] =
      kind === 'list'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : kind === 'object'
          ? parseJsonEnv(name, raw)
          : raw;
    origin[key] = `environment ${name}`;
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    merged[key] = value;
    origin[key] = `flag ${flagOf(key)}`;
  }
  const quick = parseGiven(merged);
  const parsed = quick ? { success: true as const, data: quick } : configSchema().safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? (issue as { keys?: string[] } | undefined)?.keys?.[0] ?? '?');
    // A key no source set is at its default: a cross-setting check (wsMaxViews lowered) blamed "config file".
    const from = origin[key] ?? (key in merged ? 'config file' : 'default');
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "${clipped(key)}" (${from}): ${clipped(issue?.message ?? 'invalid')}${key in merged ? `, got ${shown(key, merged[key])}` : ''}`,
    );
  }
  const data = parsed.data;
  if ((data.amqpCert === null) !== (data.amqpKey === null)) {
    const key = data.amqpCert === null ? 'amqpCert' : 'amqpKey';
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `setting "${key}": a client certificate needs its key (--amqp-cert and --amqp-key go together)`,
    );
  }
  // A consumer that connects somewhere (ZeroMQ or AMQP) needs no inbound socket; one given nothing gets fedmsg-relay's.
  const bind = data.bind ?? (data.connect.length === 0 && data.amqp.length === 0 ? [DEFAULT_BIND] : []);
  if (data.busQueueMaxBytes !== null) {
    const shape = { maxFrameBytes: data.maxFrameBytes, connects: data.connect.length, bind: bind.length > 0 };
    const least = minimumBudget(shape);
    if (data.busQueueMaxBytes < least) {
      const key = 'busQueueMaxBytes';
      throw new StatscacheError(
        'SC_CONFIG_INVALID',
        `setting "${key}" (${origin[key] ?? 'config file'}): ${data.busQueueMaxBytes} bytes cannot hold one message of --max-frame-bytes ${data.maxFrameBytes} (2 frames at 4× it) per libzmq connection (${shape.connects} --connect, ${shape.bind ? `${BIND_PUBLISHERS} publishers on --bind` : 'no --bind'}) and as much again in JavaScript: give at least ${least}, or a smaller --max-frame-bytes`,
      );
    }
  }
  return deepFreeze({ ...data, bind }) as Config;
}

function parseJsonEnv(name: string, raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `environment ${name} must be a JSON object, got ${clipped(JSON.stringify(raw))}`,
    );
  }
  const twice = duplicateKey(raw);
  if (twice !== null)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `environment ${name}: member ${clipped(JSON.stringify([...twice.path, twice.key].join('.')))} given twice; JSON keeps only the last, so say it once`,
    );
  return value;
}

/** Variables of this prefix that no setting reads: the tests' own (STATSCACHE_TEST_…). */
const FOREIGN_ENV_PREFIX = 'STATSCACHE_TEST_';

/**
 * STATSCACHE_* variables no setting reads, each with the setting name it most likely meant:
 * a typo (STATSCACHE_DATADIR) was ignored without a word, and serve started empty in ./data.
 * Warned about, not refused: other tools may share the prefix.
 */
export function unknownEnvNames(env: NodeJS.ProcessEnv): { readonly name: string; readonly nearest: string }[] {
  const known = new Set<string>([...Object.values(ENV_NAMES), CONFIG_FILE.env]);
  const out: { name: string; nearest: string }[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('STATSCACHE_') || known.has(name) || name.startsWith(FOREIGN_ENV_PREFIX)) continue;
    out.push({ name, nearest: nearestName(name, known) });
  }
  return out;
}
