import { afterEach, describe, expect, it } from 'vitest';
import { registerPlugins } from '../../actors/registry.js';
import { applyRetention, builtinPlugins, DEFAULT_RETENTION } from '../../plugins/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

const retentionOf = (defs: unknown[]) =>
  Object.fromEntries(registerPlugins(defs).map((p) => [p.ident, p.retentionSeconds]));

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('retention', () => {
  it('every bucketed built-in plugin has one', () => {
    const missing = registerPlugins(builtinPlugins()).filter(
      (p) => p.intervalSeconds !== null && p.retentionSeconds === null,
    );
    expect(missing.map((p) => p.ident)).toEqual([]);
    expect(retentionOf(builtinPlugins())['volume-1s']).toBe(6 * 3600);
    expect(Object.keys(DEFAULT_RETENTION)).toContain('1d');
  });

  it('is overridden by ident or by interval (any spelling); the ident wins', () => {
    const r = retentionOf(
      applyRetention(builtinPlugins(), {
        '1s': '2h',
        '60s': '1d',
        'volume-by-user-1s': '30m',
        'latest-event-per-topic': '30d',
      }),
    );
    expect(r['volume-1s']).toBe(7200);
    expect(r['volume-by-category-1s']).toBe(7200);
    expect(r['volume-by-user-1s']).toBe(1800);
    expect(r['volume-1m']).toBe(86_400);
    expect(r['latest-event-per-topic']).toBe(30 * 86_400);
    expect(r['volume-5s']).toBe(86_400); // untouched default of 5 s
  });

  it('refuses keys that match nothing and values that are not intervals', () => {
    expect(() => applyRetention(builtinPlugins(), { 'volume-2s': '1h' })).toThrow(/SC_CONFIG_INVALID.*"volume-2s"/);
    expect(() => applyRetention(builtinPlugins(), { '7s': '1h' })).toThrow(/SC_CONFIG_INVALID.*"7s"/);
    expect(() => applyRetention(builtinPlugins(), { 'volume-1s': '0s' })).toThrow(/SC_CONFIG_INVALID.*"volume-1s"/);
  });

  it('passes malformed definitions through for registration to report', () => {
    const out = applyRetention([null, 5, { name: 42 }, ...builtinPlugins()], { '1s': '1h' });
    expect(out.slice(0, 3)).toEqual([null, 5, { name: 42 }]);
    expect(() => registerPlugins(out)).toThrow(/SC_PLUGIN_INVALID/);
  });

  it('is applied by the service from the config', async () => {
    const d = tempDir();
    dirs.push(d);
    const config = loadConfig({
      flags: { dataDir: d.path },
      env: { STATSCACHE_RETENTION: JSON.stringify({ 'volume-1s': '90m', '1d': '400d' }) },
    });
    const service = await Service.build({ config, logger: createLogger('silent') });
    try {
      expect(service.host.get('volume-1s')?.plugin.retentionSeconds).toBe(5400);
      expect(service.host.get('number-of-contribution-to-pagure.io-1d')?.plugin.retentionSeconds).toBe(400 * 86_400);
      expect(service.host.get('volume-5s')?.plugin.retentionSeconds).toBe(86_400);
    } finally {
      await service.stop();
    }
  });
});
