import { PluginHost } from '../actors/plugin-host.js';
import type { PluginErrorHandler, RuntimeOptions } from '../actors/plugin-runtime.js';
import { registerPlugins } from '../actors/registry.js';
import { applyRetention, onlyBuiltins } from '../plugins/index.js';
import type { Config } from './config.js';
import { checkAgainstSkew } from './skew-bounds.js';

/**
 * The one way a plugin host is assembled from a config, for `serve` and the offline commands
 * alike: retention overrides applied, every definition validated, the key caps set. A command
 * that built its host another way once replayed the journal without the external plugins and
 * wiped their state.
 */
export function buildPluginHost(
  config: Pick<Config, 'retention' | 'pluginMaxKeys' | 'maxKeysTotal' | 'maxClockSkew'>,
  definitions: readonly unknown[],
  onError: PluginErrorHandler,
  onLifecycle?: RuntimeOptions['onLifecycle'],
): PluginHost {
  const plugins = registerPlugins(applyRetention(definitions, config.retention));
  checkAgainstSkew(plugins, config.maxClockSkew);
  return new PluginHost(plugins, onError, {
    maxKeys: config.pluginMaxKeys,
    maxKeysTotal: config.maxKeysTotal,
    aheadSeconds: config.maxClockSkew,
    checkValues: !onlyBuiltins(definitions),
    ...(onLifecycle ? { onLifecycle } : {}),
  });
}
