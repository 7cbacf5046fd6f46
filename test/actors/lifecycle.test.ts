import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { fragile, msg } from '../helpers/fragile-plugin.js';

describe('plugin lifecycle (XState)', () => {
  it('goes restoring → replaying → live, and reports each transition', () => {
    const seen: string[] = [];
    const host = new PluginHost(registerPlugins([fragile]), () => {}, {
      onLifecycle: (ident, from, to) => seen.push(`${ident}:${from}>${to}`),
    });
    const rt = host.get('fragile-1m')!;
    expect(rt.lifecycleState).toBe('restoring');
    host.replaying();
    expect(rt.stats().lifecycle).toBe('replaying');
    host.live();
    expect(rt.lifecycleState).toBe('live');
    // Not a legal step back: the machine ignores it.
    host.replaying();
    expect(rt.lifecycleState).toBe('live');
    host.stop();
    expect(rt.lifecycleState).toBe('stopped');
    expect(seen).toEqual(['fragile-1m:restoring>replaying', 'fragile-1m:replaying>live', 'fragile-1m:live>stopped']);
  });

  it('quarantines after N consecutive update errors, drops messages as "quarantined", and tries again after the cool-down in message time', () => {
    const seen: string[] = [];
    const host = new PluginHost(registerPlugins([fragile]), () => {}, {
      quarantineAfter: 3,
      quarantineSeconds: 600,
      onLifecycle: (_i, from, to) => seen.push(`${from}>${to}`),
    });
    host.live();
    const rt = host.get('fragile-1m')!;
    // Failures that are not consecutive never quarantine.
    for (const t of [10, 20, 30, 40, 50, 60]) rt.send(msg(t % 20 === 0 ? 'a.b.c.ok' : 'a.b.c.boom', t));
    expect(rt.lifecycleState).toBe('live');
    for (const t of [100, 110, 120]) rt.send(msg('a.b.c.boom', t));
    expect(rt.lifecycleState).toBe('quarantined');
    // Good messages inside the cool-down (message time) are dropped, counted, not applied.
    rt.send(msg('a.b.c.ok', 300));
    rt.send(msg('a.b.c.ok', 719));
    const s = rt.stats();
    expect(s.counters.dropped).toMatchObject({ update_error: 6, quarantined: 2 });
    expect(s.counters.applied).toBe(3);
    // Past the cool-down (quarantined at 120, 600 s) the plugin is on probation: one failure quarantines it again…
    rt.send(msg('a.b.c.boom', 720));
    expect(rt.lifecycleState).toBe('quarantined');
    rt.send(msg('a.b.c.ok', 1000));
    expect(rt.stats().counters.dropped.quarantined).toBe(3);
    // …and one success (after the new cool-down) makes it healthy: live, applying, failures counted from zero.
    rt.send(msg('a.b.c.ok', 1320));
    expect(rt.lifecycleState).toBe('live');
    expect(rt.stats().counters.applied).toBe(4);
    rt.send(msg('a.b.c.boom', 1330));
    expect(rt.lifecycleState).toBe('live');
    expect(seen).toEqual([
      'restoring>live',
      'live>quarantined',
      'quarantined>live',
      'live>quarantined',
      'quarantined>live',
    ]);
    host.stop();
  });
});
