import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLYING_FILE } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE } from '../../snapshots/hung-messages.js';
import {
  HANGING_IDENT,
  HANGING_PLUGIN,
  HANGING_TOPIC,
  hangingEnvelope,
  hangingRows,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { pluginInfo } from '../helpers/plugin-info.js';
import { pluginService } from '../helpers/plugin-service.js';
import { waitReady } from '../helpers/probes.js';
import { eventually, getJson } from '../helpers/service-process.js';
import { holdWriteLock, type WriteLockHolder } from '../helpers/write-lock-holder.js';

/**
 * A stop drains what was accepted before it: a message whose journal commit is still pending
 * when SIGTERM comes is applied during the stop. The hang watch used to be stopped as the stop
 * began, so a plugin that hung on such a message held the process for good: --stop-timeout's
 * timer is on the thread the plugin holds, and never fires. The watch now runs until the stop
 * is done, and ends the process as it would outside a stop (SIGKILL, hang record, the same
 * line), so the next start skips that message for that plugin.
 *
 * The message is kept pending across the SIGTERM by another process holding the data file's
 * LMDB write lock, stopped (hold-write-lock.mjs); it is let go once the stop has begun.
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-hang-stop');

describe('a plugin that hangs on a message applied while the service stops', () => {
  const { dataDir, serve } = pluginService(
    { 'hangs.mjs': HANGING_PLUGIN },
    { args: ['--plugin-hang-timeout', '1', '--disk-hang-timeout', '1', '--snapshot-interval', '3600'] },
  );
  let holder: WriteLockHolder | null = null;
  afterAll(() => holder?.kill());

  it('is caught by the hang watch, as outside a stop', async () => {
    const first = await serve();
    const pub = await publisherPastFirst(first, envelope);
    holder = await holdWriteLock(dataDir);
    await pub.send(HANGING_TOPIC, envelope(2, { hang: true }));
    pub.close();
    // Accepted and waiting on its commit: it is applied only once the lock is let go.
    await eventually(
      async () => {
        const r = await getJson(`${first.base}/readyz`);
        return r.status === 503 && /journal commit pending/.test(String((r.body as { reason?: string }).reason))
          ? true
          : undefined;
      },
      15_000,
      'the hanging message waiting on its commit',
    );

    const exited = once(first.child, 'exit');
    first.child.kill('SIGTERM');
    await eventually(
      () => (first.logs.some((l) => l.includes('"msg":"stopping"')) ? true : undefined),
      15_000,
      'the stop',
    );
    await holder.release();
    holder = null;
    // Before: the process never ended (the plugin held its only thread, and the stop's timer with it).
    await eventually(
      () => (first.child.exitCode !== null || first.child.signalCode !== null ? true : undefined),
      30_000,
      'the process ended by the hang watch',
    );
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const recorded = JSON.parse(readFileSync(join(dataDir, HUNG_MESSAGES_FILE), 'utf8')) as {
      hung: { seq: number; plugin: string; timeout_seconds: number }[];
    };
    expect(recorded.hung).toEqual([expect.objectContaining({ seq: 2, plugin: HANGING_IDENT, timeout_seconds: 1 })]);
    // The hang is recorded as such, not also as a death on the message.
    expect(existsSync(join(dataDir, APPLYING_FILE))).toBe(false);
    const said = /plugin \\"hangs-on-odd-1d\\" has been applying journal seq 2 for over --plugin-hang-timeout 1 s/;
    await eventually(() => (said.test(first.logs.join('\n')) ? true : undefined), 5_000, "the watch thread's log line");

    // The restart replays the journal and skips the message for that plugin.
    const second = await serve();
    await waitReady(second);
    expect((await pluginInfo(second, HANGING_IDENT))?.counters).toMatchObject({ applied: 1, dropped: { hung: 1 } });
    expect((await hangingRows(second))[0]?.n).toBe(1);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
