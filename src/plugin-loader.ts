/**
 * Loads external plugins named in the config (`plugins: ["statscache-plugin-foo", "./my-plugin.js"]`).
 * A spec that starts with `.` or `/` (or is a `file:` URL) is a path, resolved against the
 * config file's directory (or the working directory without a config file); anything else is
 * an npm package, resolved from that directory first and then from statscache's own
 * installation. The module's default export is one definition or an array of them; they are
 * validated here like the built-ins (coded errors naming the spec) and then registered with
 * them, so they get the same actor, metrics, snapshots and routes.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StatscacheError } from '../actors/errors.js';
import { registerPlugins } from '../actors/registry.js';
import { builtinPlugins } from '../plugins/index.js';
import type { Config } from './config.js';

export interface LoadedPlugin {
  /** The spec as the config wrote it. */
  readonly spec: string;
  /** What was imported (a file URL). */
  readonly url: string;
  readonly definition: unknown;
}

const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:');

/** Where a spec points, as a URL `import()` accepts. */
export function resolvePluginSpec(spec: string, baseDir: string): string {
  if (spec.startsWith('file:')) return spec;
  if (isPath(spec)) return pathToFileURL(resolve(baseDir, spec)).href;
  try {
    // Packages installed next to the config (a deployment's own node_modules) come first.
    return pathToFileURL(createRequire(resolve(baseDir, 'noop.js')).resolve(spec)).href;
  } catch {
    // ESM-only packages without a "require" export, or packages installed beside statscache: let import() resolve.
    return spec;
  }
}

/** What was thrown, as text: a plugin module may throw anything, even a value whose toString throws. */
function thrownText(err: unknown): string {
  try {
    const message = (err as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : String(err);
  } catch {
    return 'a value that cannot be printed';
  }
}

/** Imports every spec in order; a failure to import names the spec (SC_PLUGIN_LOAD_FAILED). */
export async function loadExternalPlugins(specs: readonly string[], baseDir: string): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const spec of specs) {
    const url = resolvePluginSpec(spec, baseDir);
    let namespace: Record<string, unknown>;
    try {
      namespace = (await import(url)) as Record<string, unknown>;
    } catch (err) {
      throw new StatscacheError(
        'SC_PLUGIN_LOAD_FAILED',
        `plugin "${spec}" (${url}) could not be loaded: ${thrownText(err)}`,
        { cause: err },
      );
    }
    if (!('default' in namespace) || namespace['default'] === undefined) {
      throw new StatscacheError(
        'SC_PLUGIN_LOAD_FAILED',
        `plugin "${spec}" (${url}) has no default export; export a plugin definition or an array of them as default`,
      );
    }
    const exported = namespace['default'];
    let definitions: unknown[];
    try {
      // A copy without holes: registerPlugins' map() skips holes, so `[, def]` passed here and
      // was refused later as "plugin #27 is undefined", naming no module.
      definitions = Array.isArray(exported) ? Array.from(exported as unknown[]) : [exported];
      if (definitions.length === 0)
        throw new StatscacheError('SC_PLUGIN_LOAD_FAILED', `plugin "${spec}" (${url}) exports an empty array`);
      registerPlugins(definitions);
    } catch (err) {
      if (err instanceof StatscacheError) {
        if (err.code === 'SC_PLUGIN_LOAD_FAILED') throw err;
        throw new StatscacheError(err.code, `in plugin module "${spec}": ${err.message.slice(err.code.length + 2)}`, {
          cause: err,
        });
      }
      // A definition whose field is a getter that throws, or a Proxy whose traps do: uncoded, it
      // ended the start with exit 1 and a stack trace naming no module (a refusal is exit 2).
      throw new StatscacheError(
        'SC_PLUGIN_INVALID',
        `in plugin module "${spec}" (${url}): reading its definition threw: ${thrownText(err)}`,
        { cause: err },
      );
    }
    for (const definition of definitions) out.push({ spec, url, definition });
  }
  return out;
}

/**
 * The definitions a service built from `config` runs: the built-ins, then the external ones
 * in config order. `configFile` anchors relative paths; without it they are relative to the
 * working directory.
 */
export async function pluginsForConfig(config: Pick<Config, 'plugins'>, configFile?: string): Promise<unknown[]> {
  const baseDir = configFile === undefined ? process.cwd() : dirname(resolve(configFile));
  const external = await loadExternalPlugins(config.plugins, baseDir);
  const all = [...builtinPlugins(), ...external.map((p) => p.definition)];
  // Checked here, where each definition's module is known: an ident taken twice names both.
  registerPlugins(all, [...builtinPlugins().map(() => 'built-in'), ...external.map((p) => `module "${p.spec}"`)]);
  return all;
}
