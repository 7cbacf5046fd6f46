import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { harness, rowsOf as viewRows } from './harness.js';

const rowsOf = (...args: Parameters<typeof viewRows>) => viewRows(...args) as unknown as Record<string, unknown>[];

/** Every string in a message body with a backslash and the key separator U+001F added. */
function hostile(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : `${value}\\x\u001fy`;
  if (Array.isArray(value)) return value.map(hostile);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hostile(v)]));
  return value;
}

/**
 * A topic, user, package or project holding `\` or U+001F (a publisher's choice) is a row key
 * column like any other: the runtime escapes both when it derives a key from a row, so a
 * plugin that joined its key by hand disagreed, its write threw, and 50 such messages
 * quarantined it. Every built-in plugin must take them as plain values.
 */
describe('key columns holding a backslash or the key separator', () => {
  it('are applied by every built-in plugin, and served back as sent', () => {
    const h = harness(builtinPlugins());
    const now = Math.floor(Date.now() / 1000) - 60;
    const messages = recentSamples(now).map((e, i): RawEnvelope => {
      const [org, env, prod, category, ...rest] = e.topic.split('.');
      return {
        ...e,
        topic: [org, env, prod, `${category}\\x\u001fy`, ...rest].join('.'),
        msg_id: `hostile-key-${i}`,
        msg: hostile(e['msg']),
      };
    });
    h.feed(messages);
    expect(h.errors.map((e) => `${e.ident}: ${String((e.error as Error).message).slice(0, 100)}`)).toEqual([]);
    for (const rt of h.host.runtimes) {
      expect({ ident: rt.ident, dropped: rt.stats().counters.dropped }).toMatchObject({
        ident: rt.ident,
        dropped: { update_error: 0 },
      });
      expect(rt.stats().lifecycle).not.toBe('quarantined');
    }
    const categories = rowsOf(h.rt('volume-by-category-1d')).map((r) => r['category']);
    expect(categories).toContain('buildsys\\x\u001fy');
    const users = rowsOf(h.rt('volume-by-user-1m')).map((r) => String(r['user']));
    expect(users.some((u) => u.includes('\\') && u.includes('\u001f'))).toBe(true);
    const latest = rowsOf(h.rt('latest-event-per-topic')).map((r) => String(r['topic']));
    expect(latest.every((t) => t.includes('\\x\u001fy'))).toBe(true);
    h.stop();
  });
});
