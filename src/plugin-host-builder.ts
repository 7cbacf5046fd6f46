import { StatscacheError } from '../actors/errors.js';
import { PluginHost } from '../actors/plugin-host.js';
import type { PluginErrorHandler, RuntimeOptions } from '../actors/plugin-runtime.js';
import { registerPlugins, type RegisteredPlugin } from '../actors/registry.js';
import { applyRetention } from '../plugins/index.js';
import type { Config } from './config.js';

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
  checkRetentionAgainstSkew(plugins, config.maxClockSkew);
  return new PluginHost(plugins, onError, {
    maxKeys: config.pluginMaxKeys,
    maxKeysTotal: config.maxKeysTotal,
    aheadSeconds: config.maxClockSkew,
    ...(onLifecycle ? { onLifecycle } : {}),
  });
}

/**
 * Rows are kept for `retention` behind the newest row, and a message may be dated up to
 * --max-clock-skew ahead of the clock, its row stamped up to one interval later still. A
 * retention no longer than that let one such message evict every row and then drop every
 * message of the present as expired until the clock caught up (volume-1s kept 2 m: 60 rows
 * became 1, and the next 10 messages were dropped, with /readyz plain). Refused at start, as
 * a setting that cannot work.
 */
function checkRetentionAgainstSkew(plugins: readonly RegisteredPlugin[], maxClockSkew: number): void {
  const short = plugins.filter(
    (p) => p.retentionSeconds !== null && p.retentionSeconds <= maxClockSkew + (p.intervalSeconds ?? 0),
  );
  if (short.length === 0) return;
  throw new StatscacheError(
    'SC_CONFIG_INVALID',
    `retention of ${short.map((p) => `${p.ident} (${p.retentionSeconds} s)`).join(', ')} is not longer than --max-clock-skew ` +
      `(${maxClockSkew} s) plus the plugin's interval: one message dated that far ahead would evict every row and have every ` +
      'message of the present dropped as expired. Raise that retention (setting "retention") or lower --max-clock-skew',
  );
}
