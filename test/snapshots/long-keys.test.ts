import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { perUserPlugin } from '../helpers/per-user-plugin.js';
import { tempDir } from '../helpers/service-process.js';

/** One row and one store entry per `user`; `drop` deletes a user's store entry. */
const perUser = perUserPlugin('Long keys', (m, { rows, stores }) => {
  const { user, drop } = m.body as { user: string; drop?: boolean };
  if (drop) {
    stores.totals.delete(user);
    return;
  }
  const n = (stores.totals.get(user) ?? 0) + 1;
  rows.put({ timestamp: m.timestamp, user, n });
  stores.totals.set(user, n);
});

const long = (c: string) => c.repeat(70);
/**
 * Keys LMDB's key encoding ended at a unit 0 (or mangled at 1-4) when 64 units or longer: the
 * unit at the start, in the middle, on a part boundary (63) and at the end; two that differ
 * only after it; a surrogate pair split by a part boundary; lengths around the boundary.
 */
const KEYS = [
  `${long('y')}\u0000z`,
  `${long('y')}\u0000w`,
  `\u0000${long('a')}`,
  `${'b'.repeat(62)}\u0001\u0002${'c'.repeat(10)}`,
  `${'d'.repeat(63)}\u0003`,
  `${'e'.repeat(62)}😀\u0004${'f'.repeat(70)}`,
  `${long('g')}\u0004`,
  `${'h'.repeat(63)}`,
  `${'i'.repeat(64)}`,
  `short\u0000key`,
  'plain',
];

describe('snapshot keys of 64 units or more holding units 0-4 come back whole', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const config = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, snapshotInterval: 3600 } });
  const state = (s: Service) => {
    const rt = s.host.runtimes.find((r) => r.ident === 'long-keys');
    expect(rt).toBeDefined();
    const { rows, stores } = (rt as NonNullable<typeof rt>).inspect();
    return {
      rows: [...rows.entries()].sort(),
      totals: [...(stores['totals']?.entries() ?? [])].sort(),
      digest: (rt as NonNullable<typeof rt>).stats().digest,
    };
  };
  let seq = 0;
  const feed = async (s: Service, bodies: object[]) => {
    const now = Math.floor(Date.now() / 1000) - 100;
    for (const msg of bodies)
      s.accept({ topic: 'org.fedoraproject.prod.x.y', timestamp: now + ++seq, msg_id: `k${seq}`, msg } as never);
    await s.settled();
  };

  it('through a full snapshot and an incremental one that rewrites and deletes them, in the stream and in-process', async () => {
    let s = await Service.build({ config, logger: createLogger('silent'), plugins: [perUser] });
    await feed(
      s,
      KEYS.map((user) => ({ user })),
    );
    await s.snapshot();
    // Incremental: some rewritten, some deleted from the store.
    await feed(s, [{ user: KEYS[0] }, { user: KEYS[3] }, { user: KEYS[1], drop: true }, { user: KEYS[5], drop: true }]);
    await s.snapshot();
    const before = state(s);
    expect(before.totals).toHaveLength(KEYS.length - 2);
    expect(before.rows).toHaveLength(KEYS.length);
    await s.close();
    for (const check of [true, false]) {
      s = await Service.build({
        config,
        logger: createLogger('silent'),
        plugins: [perUser],
        ...(check ? {} : { checkDataFile: false }),
      });
      await s.recover();
      expect(s.restored.fallbacks, check ? 'streamed' : 'in-process').toEqual([]);
      expect(state(s), check ? 'streamed' : 'in-process').toEqual(before);
      await s.close();
    }
  });

  it('refuses a key too long as stored (units 0-4 take two bytes) and keeps snapshots going, without quarantine', async () => {
    const d = tempDir();
    try {
      const s = await Service.build({
        config: loadConfig({ env: {}, flags: { dataDir: d.path, port: 0, snapshotInterval: 3600 } }),
        logger: createLogger('silent'),
        plugins: [perUser],
      });
      // 1,790 bytes in UTF-8, under MAX_KEY_BYTES; 3,600 and more in LMDB's key, over its limit.
      const low = (i: number) => `${'\u0001'.repeat(1780)}${String(i).padStart(5, '0')}`;
      // The widest keys that fit: 600 low units (2 bytes each plus part separators) and 1,800 ASCII.
      const fits = ['\u0002'.repeat(600), 'w'.repeat(1800)];
      await feed(s, [...Array.from({ length: 60 }, (_, i) => ({ user: low(i) })), ...fits.map((user) => ({ user }))]);
      const rt = s.host.runtimes.find((r) => r.ident === 'long-keys');
      const counters = rt?.inspect().counters;
      expect(counters?.dropped.key_too_long).toBe(60);
      expect(counters?.dropped.update_error).toBe(0);
      expect(rt?.lifecycleState).not.toBe('quarantined');
      expect(counters?.dropped.quarantined).toBe(0);
      expect([...(rt?.inspect().rows.keys() ?? [])].sort()).toEqual([...fits].sort());
      // Every snapshot used to fail while such a key was kept (LMDB: key size larger than 1978).
      await s.snapshot();
      await s.snapshot();
      await s.close();
      const again = await Service.build({
        config: loadConfig({ env: {}, flags: { dataDir: d.path, port: 0, snapshotInterval: 3600 } }),
        logger: createLogger('silent'),
        plugins: [perUser],
      });
      await again.recover();
      expect(again.restored.meta).not.toBeNull();
      expect(again.restored.restored['long-keys']).toBe(fits.length);
      await again.close();
    } finally {
      d.remove();
    }
  });
});
