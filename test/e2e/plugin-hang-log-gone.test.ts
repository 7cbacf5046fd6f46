import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HANGING_IDENT,
  HANGING_TOPIC,
  hangingEnvelope,
  hangingPluginService,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { eventually } from '../helpers/service-process.js';

/**
 * The hang watch thread writes its fatal line to stdout and then kills the process. With the
 * log reader gone (a log shipper that died, `serve | tee` ended) that write fails with EPIPE;
 * it threw, the watch thread died before the kill, and the main thread, held for good by the
 * plugin, could not even see that: the process stayed up, answering nothing, and was never
 * restarted. (The logger itself ignores EPIPE, so everything else goes on without a log.)
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-hang-log');

describe('a plugin that hangs while the log reader is gone (--plugin-hang-timeout)', () => {
  const { dataDir, serve } = hangingPluginService();

  it('still ends the process and records the message', async () => {
    const svc = await serve();
    const pub = await publisherPastFirst(svc, envelope);
    // The reader of the service's stdout goes away: its writes to fd 1 fail with EPIPE from now on.
    svc.child.stdout?.destroy();
    const exited = once(svc.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    await pub.send(HANGING_TOPIC, envelope(2, { hang: true }));
    pub.close();
    // The timeout is 1 s and the watch looks every 100 ms: 15 s is ample.
    const outcome = await Promise.race([
      exited.then(([code, signal]) => ({ code, signal })),
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(outcome).toEqual({ code: null, signal: 'SIGKILL' });
    const recorded = JSON.parse(readFileSync(join(dataDir, 'hung-messages.json'), 'utf8')) as {
      hung: { seq: number; plugin: string }[];
    };
    expect(recorded.hung).toEqual([expect.objectContaining({ seq: 2, plugin: HANGING_IDENT })]);
    // The fatal line went to stderr instead, whose reader is still there.
    const said = /plugin \\"hangs-on-odd-1d\\" has been applying journal seq 2 for over --plugin-hang-timeout 1 s/;
    await eventually(() => (said.test(svc.logs.join('\n')) ? true : undefined), 5_000, 'the fatal line on stderr');
  }, 60_000);
});
