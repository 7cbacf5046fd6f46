/**
 * A tick refreshes live views within its time budget: past it, the views not yet refreshed wait
 * for the next tick, which starts with them, so every view still gets every change (a tick
 * later) while the event loop is never held for the whole set. 1,000 deep-page views, each
 * recomputed on every change of its plugin, held it 1.3 s per tick before. The clock the budget
 * reads is injected: each refresh "costs" 10 ms of it.
 */
import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { volume } from '../../plugins/volume.js';
import { pluginParamsSchema } from '../../src/http/query-params.js';
import { viewSpecOf } from '../../src/http/ws-view-spec.js';
import { ViewRegistry } from '../../src/http/ws-views.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

const VIEWS = 10;
const BUDGET_MS = 25;
const COST_MS = 10;

describe('the tick budget of live views', () => {
  it('refreshes what fits, leaves the rest to the next tick first, and loses no change', () => {
    const host = new PluginHost(registerPlugins([volume('1m')]), () => {});
    const rt = host.get('volume-1m')!;
    const schema = pluginParamsSchema(rt.plugin);
    let cpu = 0;
    const registry = new ViewRegistry({
      historyFrames: 100,
      historyBytes: 1 << 20,
      maxViews: 100,
      lingerMs: 60_000,
      tickBudgetMs: BUDGET_MS,
      cpuNow: () => cpu,
    });
    const now = 1_900_000_000_000;
    const views = Array.from({ length: VIEWS }, (_, i) =>
      registry.acquire(
        viewSpecOf(rt, schema, { rows_per_page: String(1 + i) }, 10_000),
        rt,
        now,
        () => true,
        () => {},
      ),
    );
    // Every refresh costs COST_MS of the budget's clock.
    for (const v of views) {
      const refresh = v.refresh.bind(v);
      v.refresh = (s: number) => {
        cpu += COST_MS;
        return refresh(s);
      };
    }
    const send = (t: number) =>
      rt.send(
        createPluginMessage(
          { topic: 'org.fedoraproject.prod.a.b', timestamp: t, msg_id: `m${t}`, msg: {} },
          deriveMeta,
        ),
      );
    send(now / 1000 - 30);
    const seen = new Map<string, number>();
    const tick = () => {
      const out = registry.tick(now, () => {});
      for (const { view } of out) seen.set(view.spec.key, (seen.get(view.spec.key) ?? 0) + 1);
      return out.length;
    };
    // 25 ms fits the first refresh (always made) and two more; the check comes before each.
    expect(tick()).toBe(3);
    expect(registry.stats.deferred).toBe(VIEWS - 3);
    expect(tick()).toBe(3);
    expect(tick()).toBe(3);
    // The last one; the two after it in the budget are the first two again, with nothing new.
    expect(tick()).toBe(1);
    expect(registry.stats.lastTick.refreshed).toBe(3);
    // Every view got the change exactly once.
    expect(seen.size).toBe(VIEWS);
    for (const n of seen.values()) expect(n).toBe(1);
    // With room for all, one tick refreshes every view.
    const wide = new ViewRegistry({ historyFrames: 100, historyBytes: 1 << 20, maxViews: 100, lingerMs: 60_000 });
    const w = Array.from({ length: VIEWS }, (_, i) =>
      wide.acquire(
        viewSpecOf(rt, schema, { rows_per_page: String(1 + i) }, 10_000),
        rt,
        now,
        () => true,
        () => {},
      ),
    );
    send(now / 1000 - 20);
    expect(wide.tick(now, () => {}).length).toBe(w.length);
    expect(wide.stats.deferred).toBe(0);
  });
});
