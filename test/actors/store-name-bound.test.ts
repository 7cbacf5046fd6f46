/**
 * A store's name is part of every snapshot key of its entries, beside the plugin's ident and the
 * entry's key. Registration took any length: a store named past what LMDB's 1978-byte keys leave
 * failed every snapshot, found only at the first one (2,000 characters; or 18 bytes beside a
 * 120-character ident and the longest key). Now refused at registration, at the exact bound.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { StatscacheError } from '../../actors/errors.js';
import { storedKeyBytes, MAX_KEY_BYTES } from '../../actors/keyed-store.js';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { registerPlugins } from '../../actors/registry.js';
import { MAX_IDENT_AND_STORE_BYTES } from '../../actors/store-names.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

/** The longest key a store accepts that takes the most bytes in LMDB: 28 parts, each opening with a unit 1. */
const WORST_KEY = `${`\u0001${'a'.repeat(62)}`.repeat(27)}\u0001${'a'.repeat(42)}`;
const PLAIN_KEY = 'k'.repeat(MAX_KEY_BYTES);

const pluginWith = (name: string, storeName: string) =>
  definePlugin({
    name,
    summary: 's',
    description: 'd',
    rows: rowsOf<{ timestamp: number }>(),
    columns: ['v'],
    key: ['timestamp'],
    stores: { [storeName]: store<number>() },
    update(_m, { stores }) {
      const s = stores[storeName];
      s?.set(WORST_KEY, 1);
      s?.set(PLAIN_KEY, 2);
    },
  });

function refusal(name: string, storeName: string): string | null {
  try {
    registerPlugins([pluginWith(name, storeName)]);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(StatscacheError);
    return (err as Error).message;
  }
}

describe('store names (the bound a snapshot key leaves them)', () => {
  const dirs: { remove(): void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });

  it('the worst key is the longest a store accepts', () => {
    expect(storedKeyBytes(WORST_KEY)).toBe(MAX_KEY_BYTES);
  });

  it('are refused past the bound at registration with a code naming them, and accepted at it', () => {
    const longIdent = 'a'.repeat(120);
    const room = MAX_IDENT_AND_STORE_BYTES - 120;
    expect(refusal(longIdent, 's'.repeat(room))).toBeNull();
    expect(refusal(longIdent, 's'.repeat(room + 1))).toMatch(
      new RegExp(`^SC_PLUGIN_FIELD_INVALID: .*store name "s{${room + 1}}" takes ${room + 1} bytes.*more than the 137`),
    );
    // With a one-character ident, and counted in UTF-8 bytes.
    expect(refusal('n', 's'.repeat(MAX_IDENT_AND_STORE_BYTES - 1))).toBeNull();
    expect(refusal('n', 's'.repeat(MAX_IDENT_AND_STORE_BYTES))).toMatch(/^SC_PLUGIN_FIELD_INVALID: .*"s{137}"/);
    expect(refusal('n', 'é'.repeat(68))).toBeNull();
    expect(refusal('n', `${'é'.repeat(68)}s`)).toMatch(/takes 137 bytes/);
    // A very long one is named by its start and length.
    expect(refusal('n', 'x'.repeat(2000))).toMatch(/store name "x{80}"… \(2000 characters\) takes 2000 bytes/);
    expect(refusal('n', 'a\u0000b')).toMatch(
      /^SC_PLUGIN_FIELD_INVALID: .*store name "a\\u0000b" holds a control character/,
    );
  });

  it('at the bound, a snapshot of the longest keys is written to real LMDB and restored', async () => {
    const d = tempDir();
    dirs.push(d);
    const room = MAX_IDENT_AND_STORE_BYTES - 120;
    const def = pluginWith('a'.repeat(120), 'é'.repeat(Math.floor(room / 2)) + (room % 2 === 1 ? 's' : ''));
    const first = openSession(d.path, [def], { slots: 1 });
    first.host.dispatch(createPluginMessage({ topic: 't', timestamp: 1000, msg: {} }, deriveMeta), [0]);
    const report = await first.snapshotter.take();
    expect(report.written).toBe(2);
    await first.close();

    const again = openSession(d.path, [def], { slots: 1 });
    try {
      const stored = again.host.runtimes[0]?.inspect().stores;
      const name = Object.keys(stored ?? {})[0] as string;
      expect(Buffer.byteLength(name)).toBe(room);
      expect(stored?.[name]?.get(WORST_KEY)).toBe(1);
      expect(stored?.[name]?.get(PLAIN_KEY)).toBe(2);
    } finally {
      await again.close();
    }
  });
});
