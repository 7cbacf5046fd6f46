import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HANGING_IDENT,
  HANGING_TOPIC,
  hangingEnvelope,
  hangingPluginService,
  hangingRows,
} from '../helpers/hanging-plugin.js';
import { eventually, getJson } from '../helpers/service-process.js';
import { pluginInfo } from '../helpers/plugin-info.js';
import { joinedPublisher } from '../helpers/probes.js';

/**
 * A plugin whose `update` never returns on one odd message held the event loop for good: no
 * read or health probe was answered, and a supervisor's restart replayed the same journaled
 * message into the same plugin and hung again, so intake never resumed. With
 * --plugin-hang-timeout the watch thread records the (plugin, journal seq) pair and ends the
 * process; the next start skips that message for that plugin only and says so in /readyz.
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-hang');

describe('a plugin that hangs on one message (--plugin-hang-timeout)', () => {
  const { dataDir, serve } = hangingPluginService();

  it('ends the process, and the next start skips that message for that plugin only', async () => {
    const first = await serve();
    const pub = await joinedPublisher(first);
    await pub.send(HANGING_TOPIC, envelope(1, {}));
    await eventually(
      async () => ((await hangingRows(first))[0]?.n === 1 ? true : undefined),
      15_000,
      'the first message applied',
    );

    const exited = once(first.child, 'exit');
    await pub.send(HANGING_TOPIC, envelope(2, { hang: true }));
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    pub.close();
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const recorded = JSON.parse(readFileSync(join(dataDir, 'hung-messages.json'), 'utf8')) as {
      hung: { seq: number; plugin: string; timeout_seconds: number }[];
    };
    expect(recorded.hung).toEqual([expect.objectContaining({ seq: 2, plugin: HANGING_IDENT, timeout_seconds: 1 })]);
    // Written by the watch thread straight to stdout, in the logger's format, before the kill.
    const said = /plugin \\"hangs-on-odd-1d\\" has been applying journal seq 2 for over --plugin-hang-timeout 1 s/;
    await eventually(() => (said.test(first.logs.join('\n')) ? true : undefined), 5_000, "the watch thread's log line");

    // The restart replays the journal: the message is skipped for the plugin that hung on it.
    const second = await serve();
    await eventually(async () => ((await getJson(`${second.base}/readyz`)).status === 200 ? true : undefined));
    const hung = await pluginInfo(second, HANGING_IDENT);
    expect(hung?.counters).toMatchObject({ received: 2, applied: 1, dropped: { hung: 1 } });
    expect((await hangingRows(second))[0]?.n).toBe(1);
    // Every other plugin took it in.
    const volume = await pluginInfo(second, 'volume-by-category-1d');
    expect(volume?.counters).toMatchObject({ received: 2, applied: 2, dropped: { hung: 0 } });
    const ready = (await getJson(`${second.base}/readyz`)).body as { degraded?: string };
    expect(ready.degraded).toMatch(/hangs-on-odd-1d \(journal seq 2, msg_id 2026-hang-2, org\.fedoraproject/);
    const metrics = (await getJson(`${second.base}/metrics`)).body as string;
    expect(metrics).toMatch(/statscache_plugin_messages_dropped_total\{plugin="hangs-on-odd-1d",reason="hung"\} 1/);

    // And goes on with the messages after it.
    const again = await joinedPublisher(second);
    await again.send(HANGING_TOPIC, envelope(3, {}));
    await eventually(
      async () => ((await hangingRows(second))[0]?.n === 2 ? true : undefined),
      15_000,
      'the next message applied',
    );
    again.close();
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
