import type { PluginMessage } from '../../actors/plugin-api.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { samples } from './fixtures.js';
import { mulberry32 } from './seeded-random.js';

const T = 497_222 * 3600;

/**
 * Real fixture messages with meetbot floods between them (meetings of up to 40 new attendees,
 * each a key in a dozen per-user containers), half a minute apart: what drives the key budget.
 * The same seed and count give the same messages.
 */
export function meetbotFloods(seed: number, count: number): { message: PluginMessage; topic: string }[] {
  const random = mulberry32(seed);
  const real = samples();
  return Array.from({ length: count }, (_, i) => {
    const t = T + i * 30 + Math.floor(random() * 20);
    const envelope =
      random() < 0.5
        ? {
            topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
            timestamp: t,
            msg: {
              attendees: Object.fromEntries(
                Array.from({ length: 1 + Math.floor(random() * 40) }, (_, u) => [`m${i}u${u}`, 1]),
              ),
            },
          }
        : { ...(real[i % real.length] as { topic: string }), timestamp: t };
    return { message: createPluginMessage(envelope as never, deriveMeta), topic: envelope.topic };
  });
}
