import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../../plugins/retention.js';
import { loadConfig } from '../../src/config.js';
import { MAX_TOPIC_LENGTH } from '../../src/decode-frames.js';
import { tempDir } from '../helpers/service-process.js';

const dir = tempDir();
afterAll(() => dir.remove());

/** The refusal's message, or null when the value was taken. */
function refusal(load: () => unknown): string | null {
  try {
    load();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** What a refusal is compared by: named and short, whatever the value's size. */
const summary = (message: string | null, setting: string, bound: string) => ({
  refused: message !== null,
  names: message?.startsWith(`SC_CONFIG_INVALID: setting "${setting}"`) ?? false,
  bound: message?.includes(bound) ?? false,
  short: message !== null && message.length < 1_000,
});

describe('--topic prefixes and retention member names are bounded in length', () => {
  it('a topic prefix longer than any topic the bus takes in is refused, from a flag, the environment or the file', () => {
    const longest = `org.${'x'.repeat(MAX_TOPIC_LENGTH - 4)}`;
    expect(loadConfig({ env: {}, flags: { topic: [longest] } }).topic).toEqual([longest]);
    const file = join(dir.path, 'topic.json');
    writeFileSync(file, JSON.stringify({ topic: ['org.fedoraproject.', 't'.repeat(500_000)] }));
    const seen = [
      refusal(() => loadConfig({ env: {}, flags: { topic: [`${longest}x`] } })),
      refusal(() => loadConfig({ env: { STATSCACHE_TOPIC: 'y'.repeat(MAX_TOPIC_LENGTH + 1) } })),
      refusal(() => loadConfig({ env: {}, file })),
    ].map((m) => summary(m, 'topic', `${MAX_TOPIC_LENGTH}`));
    expect(seen).toEqual(Array(3).fill({ refused: true, names: true, bound: true, short: true }));
  });

  it('a retention member name longer than any ident is refused when the config is read, not left to start-up', () => {
    const file = join(dir.path, 'retention.json');
    writeFileSync(file, JSON.stringify({ retention: { 'volume-1m': '30d', ['p'.repeat(500_000)]: '30d' } }));
    const seen = [
      refusal(() => loadConfig({ env: {}, file })),
      refusal(() => loadConfig({ env: { STATSCACHE_RETENTION: JSON.stringify({ ['q'.repeat(121)]: '1d' }) } })),
    ].map((m) => summary(m, 'retention', '120'));
    expect(seen).toEqual(Array(2).fill({ refused: true, names: true, bound: true, short: true }));
    // 120 characters is the longest ident: taken here, and refused at start-up when no plugin has it.
    const name = 'r'.repeat(120);
    expect(loadConfig({ env: { STATSCACHE_RETENTION: JSON.stringify({ [name]: '1d' }) } }).retention).toEqual({
      [name]: '1d',
    });
  });

  it('members naming no loaded plugin are refused at start-up, each named, the list cut after a few', () => {
    const plugin = { name: 'Volume', interval: '1m', update: () => {} };
    const many = Object.fromEntries(Array.from({ length: 1_024 }, (_, i) => [`${'n'.repeat(110)}-${i}`, '1d']));
    const message = refusal(() => applyRetention([plugin], many));
    expect(summary(message, 'retention', 'names no loaded plugin')).toEqual({
      refused: true,
      names: true,
      bound: true,
      short: true,
    });
    expect(message).toContain(`"${'n'.repeat(110)}-0"`);
    expect(message).toContain('and 1019 more');
    expect(refusal(() => applyRetention([plugin], { 'volume-1m': '2d', '1m': '3d' }))).toBeNull();
  });
});
