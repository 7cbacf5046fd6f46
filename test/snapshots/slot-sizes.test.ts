/**
 * What a generation takes on disk (snapshot list's SIZE, snapshot take's generationBytes): key
 * parts counted in UTF-8 bytes, as LMDB stores them (they were counted in UTF-16 units, so a
 * key of 100 'é' counted 100 bytes for 200 stored), and the service's walk for
 * POST /admin/snapshot hands the event loop back between chunks instead of holding it for the
 * whole slot.
 */
import { describe, expect, it } from 'vitest';
import { generationSize, generationSizePaced } from '../../snapshots/generation-size.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { tempDir } from '../helpers/service-process.js';

describe('a generation measured', () => {
  it('counts key parts in UTF-8 bytes, and the paced walk agrees while letting the event loop run', async () => {
    const dir = tempDir();
    const store = new DataStore(dir.path);
    try {
      const value = new Uint8Array(10);
      const plain = 10_000;
      await store.writeSnapshot((batch) => {
        for (let i = 0; i < plain; i++) batch.put(0, 'p', 's', `k${i}`, value);
        batch.put(0, 'q', 'sé', 'é'.repeat(100), value);
        batch.put(0, 'q', 's', '😀', value);
      });
      const whole = generationSize(store, 0);
      const keyBytes = (n: number) => String(n).length + 1;
      let expectedP = 0;
      for (let i = 0; i < plain; i++) expectedP += value.byteLength + 1 + 1 + keyBytes(i);
      expect(whole.plugins['p']).toEqual({ entries: plain, bytes: expectedP });
      // 'q' 1 byte; 'sé' 3 bytes and 100 'é' 200 bytes; 's' 1 byte and '😀' 4 bytes.
      expect(whole.plugins['q']).toEqual({ entries: 2, bytes: 10 + 1 + 3 + 200 + (10 + 1 + 1 + 4) });
      expect(whole.entries).toBe(plain + 2);

      let turns = 0;
      let counting = true;
      const tick = () => {
        if (!counting) return;
        turns++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const paced = await generationSizePaced(store, 0);
      counting = false;
      expect(paced).toEqual(whole);
      // 10,002 entries in chunks of 4,096: the loop ran between them (before: not once).
      expect(turns).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
