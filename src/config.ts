import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { StatscacheError } from '../actors/errors.js';
import { LOG_LEVELS } from './logger.js';

const endpoint = z.string().regex(/^(tcp|ipc|inproc):\/\/\S+$/, 'must be a ZeroMQ endpoint like tcp://127.0.0.1:2003');

/** Every setting, its type, bounds and default. The README's settings table mirrors this. */
export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    connect: z.array(endpoint).default([]),
    bind: z.array(endpoint).default(['tcp://127.0.0.1:2003']),
    topic: z.array(z.string()).min(1).default(['']),
    dataDir: z.string().min(1).default('data'),
    snapshotInterval: z.coerce.number().positive().max(86_400).default(30),
    maxFrameBytes: z.coerce.number().int().min(64).max(64 * 1024 * 1024).default(1024 * 1024),
    wsTickMs: z.coerce.number().int().min(10).max(10_000).default(100),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** External plugins: npm package names or paths of local modules (config file only). */
    plugins: z.array(z.string().min(1)).default([]),
    /** Retention overrides, keyed by ident (`volume-1s`) or interval (`1s`): how far back rows are kept. */
    retention: z.record(z.string(), z.string().regex(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/, 'must be like 6h or 30d')).default({}),
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigKey = keyof Config;

/** Environment variable per setting; lists are comma-separated. */
export const ENV_NAMES: Readonly<Record<ConfigKey, string>> = {
  host: 'STATSCACHE_HOST',
  port: 'STATSCACHE_PORT',
  connect: 'STATSCACHE_CONNECT',
  bind: 'STATSCACHE_BIND',
  topic: 'STATSCACHE_TOPIC',
  dataDir: 'STATSCACHE_DATA_DIR',
  snapshotInterval: 'STATSCACHE_SNAPSHOT_INTERVAL',
  maxFrameBytes: 'STATSCACHE_MAX_FRAME_BYTES',
  wsTickMs: 'STATSCACHE_WS_TICK_MS',
  logLevel: 'STATSCACHE_LOG_LEVEL',
  plugins: 'STATSCACHE_PLUGINS',
  retention: 'STATSCACHE_RETENTION',
};

const LISTS: ReadonlySet<ConfigKey> = new Set(['connect', 'bind', 'topic', 'plugins']);
/** Settings given in the environment as JSON objects. */
const OBJECTS: ReadonlySet<ConfigKey> = new Set(['retention']);

/** The CLI flag per setting, for error messages. */
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export interface ConfigSources {
  readonly flags?: Partial<Record<ConfigKey, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (from --config or STATSCACHE_CONFIG). */
  readonly file?: string | undefined;
}

/**
 * Precedence, lowest to highest: built-in defaults, config file, environment, flags.
 * Parsed and validated once, then frozen; a bad value throws SC_CONFIG_INVALID naming the
 * setting and where it came from.
 */
export function loadConfig(sources: ConfigSources): Config {
  const origin: Partial<Record<string, string>> = {};
  const merged: Record<string, unknown> = {};
  const path = sources.file ?? sources.env?.['STATSCACHE_CONFIG'];
  if (path) {
    for (const [k, v] of Object.entries(readConfigFile(path))) {
      merged[k] = v;
      origin[k] = `config file ${path}`;
    }
  }
  for (const [key, name] of Object.entries(ENV_NAMES) as [ConfigKey, string][]) {
    const raw = sources.env?.[name];
    if (raw === undefined || raw === '') continue;
    merged[key] = LISTS.has(key) ? raw.split(',').map((s) => s.trim()) : OBJECTS.has(key) ? parseJsonEnv(name, raw) : raw;
    origin[key] = `environment ${name}`;
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    merged[key] = value;
    origin[key] = `flag ${flagOf(key)}`;
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? (issue as { keys?: string[] } | undefined)?.keys?.[0] ?? '?');
    const from = origin[key] ?? 'config file';
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "${key}" (${from}): ${issue?.message ?? 'invalid'}${key in merged ? `, got ${JSON.stringify(merged[key])}` : ''}`);
  }
  return deepFreeze(parsed.data) as Config;
}

function parseJsonEnv(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new StatscacheError('SC_CONFIG_INVALID', `environment ${name} must be a JSON object, got ${JSON.stringify(raw)}`);
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StatscacheError('SC_CONFIG_INVALID', `setting "config": ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
