/**
 * Apply timing on a real PluginHost with a fake stopwatch: a plugin whose update takes long
 * (here: advances the stopwatch, as a slow update would) is named for SLOW_REPORT_MS after its
 * slow batch, counted per plugin, and the others are not.
 */
import { describe, expect, it } from 'vitest';
import { SLOW_BATCH_MS, SLOW_REPORT_MS, slowApplyProblem } from '../../actors/apply-timing.js';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { volume } from '../../plugins/volume.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

let now = 0;
/** Each message costs `cost` ms of the fake stopwatch. */
const costly = definePlugin({
  name: 'Costly',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; n: number }>(),
  columns: ['n'],
  key: ['timestamp'],
  update(m, { rows }) {
    now += Number((m.body as { cost?: unknown }).cost ?? 0);
    rows.put({ timestamp: m.timestamp, n: 1 });
  },
});

const T = 1_800_000_000;
const msg = (i: number, cost: number) =>
  createPluginMessage(
    { topic: 'org.fedoraproject.prod.buildsys.build.state.change', timestamp: T + i, msg: { cost } },
    deriveMeta,
  );

describe('apply timing per plugin', () => {
  const host = new PluginHost(registerPlugins([volume('1m', '7d'), costly]), () => {}, { stopwatch: () => now });
  const all = host.runtimes.map((_, i) => i);
  const batch = (...messages: ReturnType<typeof msg>[]) => {
    for (const m of messages) host.queue(m, all);
    host.applyQueued();
  };

  it('adds up each plugin’s time and names none while every batch is quick', () => {
    batch(msg(1, 300), msg(2, 300));
    expect(host.timing.seconds(1)).toBeCloseTo(0.6);
    expect(host.timing.seconds(0)).toBe(0);
    expect(host.timing.slowBatches(1)).toBe(0);
    expect(slowApplyProblem(host.timing.recentSlow())).toBeNull();
  });

  it('names a plugin whose one batch reached SLOW_BATCH_MS, for SLOW_REPORT_MS', () => {
    batch(msg(3, SLOW_BATCH_MS / 2), msg(4, SLOW_BATCH_MS / 2));
    expect(host.timing.slowBatches(1)).toBe(1);
    expect(host.timing.slowBatches(0)).toBe(0);
    expect(slowApplyProblem(host.timing.recentSlow())).toBe(
      'plugin held the event loop applying one batch in the last 5 min, delaying every read, push and probe meanwhile: costly (1.0 s for 2 messages)',
    );
    now += SLOW_REPORT_MS - 1;
    expect(host.timing.recentSlow().map((s) => s.ident)).toEqual(['costly']);
    now += 1;
    expect(host.timing.recentSlow()).toEqual([]);
    // The counter stays: it is the history, the reason is the present.
    expect(host.timing.slowBatches(1)).toBe(1);
    expect(host.timing.seconds(1)).toBeCloseTo(0.6 + SLOW_BATCH_MS / 1000);
  });

  it('counts the time of a batch whose plugin threw', () => {
    const before = host.timing.seconds(1);
    const thrower = new PluginHost(
      registerPlugins([
        definePlugin({
          name: 'Thrower',
          summary: 's',
          description: 'd',
          rows: rowsOf<{ timestamp: number; n: number }>(),
          columns: ['n'],
          key: ['timestamp'],
          update() {
            now += SLOW_BATCH_MS;
            throw new Error('bug');
          },
        }),
      ]),
      () => {},
      { stopwatch: () => now },
    );
    thrower.queue(msg(5, 0), [0]);
    thrower.applyQueued();
    expect(thrower.timing.slowBatches(0)).toBe(1);
    expect(host.timing.seconds(1)).toBe(before);
  });
});
