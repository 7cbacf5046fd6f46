import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLYING_FILE } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE } from '../../snapshots/hung-messages.js';
import {
  HANGING_PLUGIN,
  HANGING_TOPIC,
  hangingEnvelope,
  hangingRows,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { immutableSupported, setImmutable } from '../helpers/immutable-file.js';
import { pluginService } from '../helpers/plugin-service.js';
import { eventually } from '../helpers/service-process.js';

/**
 * The slow-message mark (applying.json) is written while a plugin holds a message past 250 ms,
 * so that a death on it is counted at the next start (two and the message is skipped). A user
 * stopping the service while one is applied must leave none: the message completed, and a mark
 * left would count a death that never happened. The stop clears it (src/hang-watch.ts); this
 * keeps it so, with a real process stopped by SIGTERM while the plugin is seen in the message.
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-slow-stop');
/**
 * The plugin holds the message until the test writes this file (next to the data dir, which the
 * second case makes immutable): after SIGTERM was sent, so the signal is pending while the message
 * is applied, whatever the machine's load. Before, it counted 3e8 loop turns (~1.5 s of CPU idle,
 * more under load) and the test raced them to send SIGTERM. The plugin's own bound (60 s) and
 * both timeouts are set far above any run here; what is tested is that the stop waits for the
 * message and clears the mark.
 */
const RELEASE = 'released';
const LIMIT_S = 240;

describe('a stop while a plugin applies a slow message', () => {
  const { dataDir, serve } = pluginService(
    { 'hangs.mjs': HANGING_PLUGIN },
    {
      args: ['--plugin-hang-timeout', String(LIMIT_S), '--stop-timeout', String(LIMIT_S)],
    },
  );

  it(
    'leaves no mark, and the restart counts no death',
    async () => {
      const svc = await serve();
      const pub = await publisherPastFirst(svc, envelope);
      const release = join(dataDir, '..', RELEASE);
      await pub.send(HANGING_TOPIC, envelope(2, { holdUntil: release }));
      pub.close();
      // Marked: the plugin has held it past 250 ms, and holds it still (until released).
      await eventually(() => (existsSync(join(dataDir, APPLYING_FILE)) ? true : undefined), 30_000, 'the mark');
      // Taken once the message is done; the stop snapshots it.
      const stopped = svc.stop('SIGTERM');
      writeFileSync(release, '');
      expect(await stopped).toBe(0);
      expect(existsSync(join(dataDir, APPLYING_FILE))).toBe(false);

      const again = await serve();
      await eventually(async () => ((await hangingRows(again))[0]?.n === 2 ? true : undefined), 30_000, 'both counted');
      expect(again.logs.join('\n')).not.toMatch(/the last run died/);
      expect(existsSync(join(dataDir, HUNG_MESSAGES_FILE))).toBe(false);
    },
    3 * LIMIT_S * 1000,
  );
});

/**
 * The same stop with the data dir made unwritable while the message is marked (immutable here; a
 * `chmod a-w` for a service not run as root): neither the watch's removal of the mark once the
 * message is done nor the stop's can remove it. The stop's threw: 'stop failed' after 'final
 * snapshot written', exit 1; and the restart counted a death on the message that completed
 * (two such stops, and it was skipped for good).
 */
describe('a stop while a plugin applies a slow message, the data dir made unwritable', () => {
  const { dataDir, serve } = pluginService(
    { 'hangs.mjs': HANGING_PLUGIN },
    {
      args: ['--plugin-hang-timeout', String(LIMIT_S), '--stop-timeout', String(LIMIT_S)],
    },
  );
  let immutable = false;
  afterAll(() => {
    if (immutable) setImmutable(dataDir, false);
  });

  it(
    'stops cleanly saying the mark stays, and the restart counts no death on it',
    async () => {
      const svc = await serve();
      if (!immutableSupported(dataDir)) return;
      const pub = await publisherPastFirst(svc, envelope);
      const release = join(dataDir, '..', RELEASE);
      await pub.send(HANGING_TOPIC, envelope(2, { holdUntil: release }));
      pub.close();
      const mark = join(dataDir, APPLYING_FILE);
      await eventually(() => (existsSync(mark) ? true : undefined), 30_000, 'the mark');
      setImmutable(dataDir, true);
      immutable = true;
      let code: number | null;
      try {
        // Still there once nothing can remove it: the plugin holds the message until released.
        expect(existsSync(mark)).toBe(true);
        const stopped = svc.stop('SIGTERM');
        writeFileSync(release, '');
        code = await stopped;
      } finally {
        setImmutable(dataDir, false);
        immutable = false;
      }
      expect(svc.logs.some((l) => l.includes('"msg":"final snapshot written"'))).toBe(true);
      expect(svc.logs.some((l) => l.includes('"msg":"stop failed"'))).toBe(false);
      expect(code).toBe(0);
      expect(svc.logs.some((l) => l.includes(`could not remove ${APPLYING_FILE}`))).toBe(true);
      expect(existsSync(mark)).toBe(true);

      const again = await serve();
      await eventually(async () => ((await hangingRows(again))[0]?.n === 2 ? true : undefined), 30_000, 'both counted');
      expect(again.logs.join('\n')).not.toMatch(/the last run died/);
      expect(again.logs.join('\n')).toMatch(/no death counted/);
      expect(existsSync(join(dataDir, HUNG_MESSAGES_FILE))).toBe(false);
      expect(existsSync(mark)).toBe(false);
    },
    3 * LIMIT_S * 1000,
  );
});
