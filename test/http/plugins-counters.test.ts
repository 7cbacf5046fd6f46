/**
 * /plugins shows what each plugin counted, and is cached per plugin state. Messages that change
 * no state (dropped as expired, key_cap or quarantined, or ignored by the plugin) must still move
 * the counters it serves: a plugin dropping everything looked idle there while /metrics counted
 * the drops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { eventually } from '../helpers/service-process.js';
import { serve, type Served } from './harness.js';

type Info = { ident: string; counters: { received: number; applied: number; dropped: Record<string, number> } };

const now = () => Math.floor(Date.now() / 1000);
const message = (id: string, timestamp: number) => ({
  topic: 'org.fedoraproject.prod.wiki.article.edit',
  timestamp,
  msg_id: id,
  msg: { user: 'ralph', title: 'T' },
});

describe('/plugins counters', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(builtinPlugins());
  });
  afterAll(async () => s?.close());

  const volume1s = async () =>
    ((await (await fetch(`${s.base}/plugins`)).json()) as { plugins: Info[] }).plugins.find(
      (p) => p.ident === 'volume-1s',
    ) as Info;

  it('move with messages that change no state (dropped as older than the retention)', async () => {
    await s.publish([message('newest', now() - 60)]);
    const first = await eventually(
      async () => ((await volume1s()).counters.received === 1 ? volume1s() : undefined),
      10_000,
      'the first message in /plugins',
    );
    expect(first.counters.applied).toBe(1);

    // Seven hours behind the newest row: past volume-1s's 6 h retention, so dropped, writing nothing.
    await s.publish([1, 2, 3, 4, 5].map((i) => message(`old-${i}`, now() - 7 * 3600 + i)));
    await eventually(
      async () =>
        /^statscache_plugin_messages_received_total\{plugin="volume-1s"\} 6$/m.test(
          await (await fetch(`${s.base}/metrics`)).text(),
        )
          ? true
          : undefined,
      10_000,
      'the old messages to reach volume-1s',
    );
    const after = await volume1s();
    expect(after.counters.received).toBe(6);
    expect(after.counters.applied).toBe(1);
    expect(after.counters.dropped['expired']).toBe(5);
  });
});
