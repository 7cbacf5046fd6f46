/**
 * PluginHost.queue + applyQueued apply a batch plugin by plugin instead of message by message:
 * every plugin must end exactly where dispatch() leaves it (state digest, rows, counters),
 * whatever the batch boundaries, and one runtime failing must not cost the others their messages.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { definePlugin } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { samples } from '../helpers/fixtures.js';

const state = (host: PluginHost) =>
  host.runtimes.map((r) => {
    const s = r.stats();
    return { ident: r.ident, digest: s.digest, rows: s.rows, counters: s.counters };
  });

function fixtureStream(rounds: number): Envelope[] {
  const all = samples();
  // Twice through the fixtures, half a second apart: buckets fill, expire and take late messages.
  return Array.from({ length: all.length * rounds }, (_, i) => {
    const e = all[i % all.length] as Record<string, unknown> & { topic: string };
    const late = i % 37 === 0 ? -90 : 0;
    return { msg: null, ...e, timestamp: 1_700_000_000 + i / 2 + late, msg_id: `batched-${i}` };
  });
}

describe('applying a batch plugin by plugin', () => {
  it('leaves every built-in plugin where message-by-message dispatch leaves it, for any batch size', () => {
    const envelopes = fixtureStream(2);
    const build = () => new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const reference = build();
    const route = createRouter(reference.runtimes.map((r) => r.plugin));
    for (const e of envelopes) reference.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));
    const expected = state(reference);
    expect(expected.some((p) => p.rows > 0)).toBe(true);

    for (const batch of [1, 7, 512, envelopes.length]) {
      const host = build();
      envelopes.forEach((e, i) => {
        host.queue(createPluginMessage(e, deriveMeta), route(e.topic));
        if ((i + 1) % batch === 0) host.applyQueued();
      });
      host.applyQueued();
      expect(state(host), `batches of ${batch}`).toEqual(expected);
    }
  });

  it('applies nothing until applyQueued, and nothing twice', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    const e = fixtureStream(1)[0] as Envelope;
    const targets = route(e.topic);
    expect(targets.length).toBeGreaterThan(0);
    host.queue(createPluginMessage(e, deriveMeta), targets);
    const received = () => host.runtimes.reduce((n, r) => n + r.stats().counters.received, 0);
    expect(received()).toBe(0);
    host.applyQueued();
    expect(received()).toBe(targets.length);
    host.applyQueued();
    expect(received()).toBe(targets.length);
  });

  it('gives every other plugin its messages when one runtime throws, then rethrows', () => {
    const counter = (name: string) =>
      definePlugin<{ timestamp: number; n: number }>({
        name,
        summary: 's',
        description: 'd',
        columns: ['n'],
        key: ['timestamp'],
        update(m, { rows }) {
          rows.set(String(m.timestamp), { timestamp: m.timestamp, n: 1 });
        },
      });
    const host = new PluginHost(registerPlugins([counter('First'), counter('Second'), counter('Third')]), () => {});
    // A runtime bug, not a plugin error (those are caught per message inside the runtime).
    const broken = host.runtimes[1] as { applyAt: (...args: unknown[]) => void };
    broken.applyAt = () => {
      throw new Error('runtime bug');
    };
    for (let t = 1; t <= 3; t++)
      host.queue(createPluginMessage({ topic: 'x', timestamp: t, msg: {} }, deriveMeta), [0, 1, 2]);
    expect(() => host.applyQueued()).toThrow('runtime bug');
    expect(host.runtimes.map((r) => r.stats().rows)).toEqual([3, 0, 3]);
    // The failed plugin's queue is dropped with the error, not applied again later.
    host.applyQueued();
    expect(host.runtimes.map((r) => r.stats().rows)).toEqual([3, 0, 3]);
  });

  it('shows the error handler and a lifecycle change in the middle of a batch the newest message applied before them', () => {
    const flaky = definePlugin<{ timestamp: number; n: number }>({
      name: 'Flaky',
      summary: 's',
      description: 'd',
      columns: ['n'],
      key: ['timestamp'],
      update(m, { rows }) {
        if (m.topic === 'boom') throw new Error('plugin bug');
        rows.set(String(m.timestamp), { timestamp: m.timestamp, n: 1 });
      },
    });
    const seen: string[] = [];
    const last = () => host.get('flaky')?.stats().counters.lastMessageAt;
    const host: PluginHost = new PluginHost(registerPlugins([flaky]), () => seen.push(`error at ${last()}`), {
      quarantineAfter: 1,
      quarantineSeconds: 60,
      onLifecycle: (_ident, _from, to) => seen.push(`${to} at ${last()}`),
    });
    // 90 is late (lastMessageAt stays 100); 110 fails and quarantines until 170; 120 is dropped
    // as quarantined; 200 releases the plugin, then is applied.
    for (const [topic, t] of [
      ['a', 100],
      ['a', 90],
      ['boom', 110],
      ['a', 120],
      ['a', 200],
      ['a', 210],
    ] as const)
      host.queue(createPluginMessage({ topic, timestamp: t, msg: {} }, deriveMeta), [0]);
    host.applyQueued();
    expect(seen).toEqual(['error at 100', 'quarantined at 100', 'restoring at 100']);
    expect(host.get('flaky')?.stats().counters).toMatchObject({ applied: 4, lastMessageAt: 210 });
  });

  it('keeps no row a batch replaced alive once the batch is applied (the undo slots are released)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const written: WeakRef<object>[] = [];
    const keeper = definePlugin<{ timestamp: number; n: number; pad: string }>({
      name: 'Keeper',
      summary: 's',
      description: 'd',
      columns: ['n'],
      key: ['timestamp'],
      update(m, { rows }) {
        const row = { timestamp: 100, n: m.timestamp, pad: 'x'.repeat(64) + m.timestamp };
        written.push(new WeakRef(row));
        rows.set('100', row);
      },
    });
    const host = new PluginHost(registerPlugins([keeper]), () => {});
    // Each message replaces the one row: the second's row is the third's undo entry.
    for (const t of [1, 2, 3]) host.queue(createPluginMessage({ topic: 'a', timestamp: t, msg: {} }, deriveMeta), [0]);
    host.applyQueued();
    expect(host.get('keeper')?.stats().counters).toMatchObject({ applied: 3 });
    // WeakRef targets are held until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(written.map((w) => w.deref() !== undefined)).toEqual([false, false, true]);
    host.stop();
  });
});
