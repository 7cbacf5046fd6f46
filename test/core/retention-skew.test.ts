/**
 * A retention no longer than --max-clock-skew plus the interval cannot work: one message dated
 * as far ahead as the intake allows evicts every row and has every message of the present
 * dropped as expired. Start-up refuses it; the defaults and anything longer are accepted.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildPluginHost } from '../../src/plugin-host-builder.js';
import { builtinPlugins } from '../../plugins/index.js';
import { volume } from '../../plugins/volume.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

const build = (flags: Record<string, unknown>, plugins: readonly unknown[] = builtinPlugins()) =>
  buildPluginHost(loadConfig({ env: {}, flags }), plugins, () => {});

describe('retention against --max-clock-skew', () => {
  it('accepts the defaults, and a retention one second longer than the skew plus the interval', () => {
    expect(build({}).runtimes.length).toBeGreaterThan(20);
    expect(
      build({ maxClockSkew: 300, retention: { 'volume-1s': '302s' } }, [volume('1s', '6h')]).runtimes,
    ).toHaveLength(1);
  });

  it('refuses one no longer, naming the plugin and both settings', () => {
    expect(() => build({ maxClockSkew: 300, retention: { 'volume-1s': '301s' } }, [volume('1s', '6h')])).toThrow(
      /SC_CONFIG_INVALID: retention of volume-1s \(301 s\) is not longer than --max-clock-skew \(300 s\) plus the plugin's interval/,
    );
    // The built-in 6 h of 1 s buckets (and the 1 d of 5 s ones) with a skew of a day.
    expect(() => build({ maxClockSkew: 86_400 })).toThrow(/volume-1s \(21600 s\), volume-5s \(86400 s\),/);
  });

  it('is what keeps the present from expiring: at the shortest accepted retention, a message dated the whole skew ahead leaves now countable', () => {
    const host = build({ maxClockSkew: 300, retention: { 'volume-1s': '302s' } }, [volume('1s', '6h')]);
    const rt = host.runtimes[0]!;
    const now = 1_800_000_000;
    const at = (t: number) =>
      createPluginMessage({ topic: 'org.fedoraproject.prod.wiki.article.edit', timestamp: t, msg: {} }, deriveMeta);
    rt.send(at(now + 300));
    rt.send(at(now));
    expect(rt.stats().counters.applied).toBe(2);
    expect(rt.stats().counters.dropped.expired).toBe(0);
  });
});
