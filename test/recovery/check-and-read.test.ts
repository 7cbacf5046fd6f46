import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { builtinPlugins } from '../../plugins/index.js';
import { checkAndRead } from '../../snapshots/check-and-read.js';
import { decodeSequence, encodeChecked } from '../../snapshots/codec.js';
import { DATA_FILE, DataStore, type SlotCut, type SlotSizes } from '../../snapshots/lmdb-store.js';
import { type PrereadSlot, restore, slotCandidates } from '../../snapshots/restore.js';
import { SequenceWriter } from '../../snapshots/sequence-writer.js';
import { joinShares, SlotStreamReader } from '../../snapshots/slot-stream.js';
import { childScript } from '../../snapshots/checker-process.js';
import { quarantineAndSalvage } from '../../snapshots/quarantine.js';
import { checkDataFile } from '../../snapshots/store-check.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { buildPluginHost } from '../../src/plugin-host-builder.js';
import { Service } from '../../src/service.js';
import { corrupt } from '../helpers/corrupt-snapshots.js';
import { recentSamples } from '../helpers/fixtures.js';
import { hostViews } from '../helpers/reference.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/service-process.js';
import { soakSize } from '../helpers/soak.js';

/** Randomly damaged copies started both ways: 30 under `npm run test:soak` (test/helpers/soak.ts). */
const DAMAGED_ROUNDS = soakSize(16, 30);
/**
 * Starts that must take the read-ahead's own failure path (a value of the newest slot refused):
 * corrupt() does so in about half of them (105 of 200 seeded starts), so half the rounds less 4
 * standard deviations, and at least one: 1 of 16 (a seed fails it about once in 150,000 runs),
 * 4 of 30 as before.
 */
const MIN_NEWEST_UNREADABLE = Math.max(1, Math.floor(DAMAGED_ROUNDS / 2 - 2 * Math.sqrt(DAMAGED_ROUNDS)));

const silent = createLogger('silent');
const config = (dataDir: string) => loadConfig({ env: {}, flags: { dataDir, port: 0, snapshotGenerations: 3 } });

/** What a start restored, recovered and settled: its report, every digest, every view. */
async function started(dir: string, check: boolean, streamed = true) {
  const service = await Service.build({
    config: config(dir),
    logger: silent,
    // These files are small: streamed only when told to (check-and-read.ts STREAM_ABOVE_BYTES).
    ...(check ? (streamed ? { checkStreamAboveBytes: 0 } : {}) : { checkDataFile: false }),
  });
  await service.recover();
  const out = {
    restored: service.restored,
    digests: service.host.runtimes.map((r) => [r.ident, r.stats().digest]),
    views: [...hostViews(service.host)],
  };
  await service.close();
  return out;
}

const newestSlot = async (dir: string) => {
  const store = new DataStore(dir, { readOnly: true });
  try {
    return slotCandidates(store).candidates[0];
  } finally {
    await store.close();
  }
};

describe('the start-up check reads the newest snapshot slot ahead of restore', () => {
  const root = tempDir();
  const pristine = join(root.path, 'pristine');
  const messages = recentSamples(Math.floor(Date.now() / 1000)).filter((_, i) => i % 3 === 0);

  beforeAll(async () => {
    // Three generations that differ, and journal records after the newest for the replay.
    const service = await Service.build({ config: config(pristine), logger: silent });
    const part = Math.ceil(messages.length / 4);
    for (let q = 0; q < 4; q++) {
      for (const m of messages.slice(q * part, (q + 1) * part)) service.accept(m as never);
      if (q < 3) await service.snapshot();
    }
    await service.settled();
    await service.close();
  });
  afterAll(() => root.remove());

  it("hands over the newest slot, every plugin's entries as many as the snapshot wrote", async () => {
    const check = await checkAndRead(pristine, { write: false, streamAboveBytes: 0 });
    if (!check.ok) throw new Error(check.problem);
    const newest = await newestSlot(pristine);
    expect(newest).toBeDefined();
    expect(check.preread?.slot).toBe(newest?.slot);
    expect(check.preread?.generation).toBe(newest?.meta.generation);
    expect(check.preread?.unreadable.size).toBe(0);
    let plugins = 0;
    for (const [ident, record] of Object.entries(newest?.meta.plugins ?? {})) {
      const got = check.preread?.plugins.get(ident);
      for (const [store, want] of Object.entries(record.entries ?? {})) {
        const entries = store === 'rows' ? got?.rows : got?.stores[store];
        expect(entries?.keys.length ?? 0, `${ident}/${store}`).toBe(want);
        expect(entries?.values.length ?? 0, `${ident}/${store}`).toBe(want);
      }
      if (record.rows > 0) plugins++;
    }
    expect(plugins).toBeGreaterThan(5);
  });

  it('walks a small file whole in one checker, reading nothing ahead, and counts what the streamed check counts', async () => {
    const streamed = await checkAndRead(pristine, { write: false, streamAboveBytes: 0 });
    const whole = await checkAndRead(pristine, { write: false });
    if (!streamed.ok || !whole.ok) throw new Error('check failed');
    expect(whole.preread).toBeNull();
    expect(streamed.preread).not.toBeNull();
    expect(whole.counts['snapshot']).toBeGreaterThan(0);
    expect(whole.counts).toEqual(streamed.counts);
  });

  it('restore takes the entries from what was read ahead, and from the file when that is another generation', async () => {
    const check = await checkAndRead(pristine, { write: false, streamAboveBytes: 0 });
    if (!check.ok || !check.preread) throw new Error('no preread');
    const [ident, state] = [...check.preread.plugins].find(([, s]) => s.rows.keys.length > 0) ?? [];
    if (!ident || !state) throw new Error('no plugin with rows');
    const key = state.rows.keys[0] as string;
    const original = state.rows.values[0] as Row;
    // A value only the read-ahead holds: restore must load it from there.
    const doctored = new Map(check.preread.plugins);
    const values = [...state.rows.values];
    values[0] = { ...original, doctored: true };
    doctored.set(ident, { ...state, rows: { keys: state.rows.keys, values } });
    const load = async (preread: PrereadSlot) => {
      const store = new DataStore(pristine, { readOnly: true });
      const host = buildPluginHost(config(pristine), builtinPlugins(), () => {});
      try {
        restore(host.runtimes, store, preread);
        return host.get(ident)?.inspect().rows.get(key);
      } finally {
        host.stop();
        await store.close();
      }
    };
    expect(await load({ ...check.preread, plugins: doctored })).toEqual({ ...original, doctored: true });
    expect(await load({ ...check.preread, generation: check.preread.generation - 1, plugins: doctored })).toEqual(
      original,
    );
  });

  it(`ends each start where restore in-process ends, over ${DAMAGED_ROUNDS} randomly damaged copies`, async () => {
    const seed = Number(process.env['CORRUPTION_SEED'] ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    let newestUnreadable = 0;
    for (let round = 0; round < DAMAGED_ROUNDS; round++) {
      const damaged = join(root.path, `d${round}`);
      const copy = join(root.path, `c${round}`);
      mkdirSync(damaged);
      cpSync(pristine, damaged, { recursive: true });
      const damage = await corrupt(damaged, random);
      cpSync(damaged, copy, { recursive: true });
      const newest = await newestSlot(damaged);
      // Odd rounds as a small file starts: one checker walks it all, restore reads the slot.
      const [checked, inProcess] = [await started(damaged, true, round % 2 === 0), await started(copy, false)];
      const where = `seed ${seed}, round ${round}${round % 2 ? ' (not streamed)' : ''}, damage ${damage.join(', ')}`;
      expect(checked.restored, where).toEqual(inProcess.restored);
      expect(checked.digests, where).toEqual(inProcess.digests);
      expect(JSON.stringify(checked.views), where).toBe(JSON.stringify(inProcess.views));
      if (checked.restored.fallbacks.some((f) => f.slot === newest?.slot && f.generation !== null)) newestUnreadable++;
      rmSync(damaged, { recursive: true, force: true });
      rmSync(copy, { recursive: true, force: true });
    }
    console.log(
      `check-and-read seed ${seed}: ${DAMAGED_ROUNDS} damaged copies, ${newestUnreadable} with the newest slot refused`,
    );
    // The read-ahead's own failure path (a value of the newest slot refused) was taken.
    expect(newestUnreadable).toBeGreaterThanOrEqual(MIN_NEWEST_UNREADABLE);
  }, 120_000);

  it('refuses an entry whose key is not a string, in the stream as in-process, and falls back alike', async () => {
    const damaged = join(root.path, 'odd-key');
    const copy = join(root.path, 'odd-key-copy');
    cpSync(pristine, damaged, { recursive: true });
    const newest = await newestSlot(damaged);
    const ident = Object.entries(newest?.meta.plugins ?? {}).find(([, r]) => r.rows > 0)?.[0];
    if (!newest || !ident) throw new Error('no plugin with rows');
    const store = new DataStore(damaged);
    // Only a tampered file holds such a key: the snapshotter writes strings.
    await store.putRaw([newest.slot, 'e', ident, 'rows', 12345], encodeChecked({ timestamp: 1, n: 1 }));
    await store.close();
    cpSync(damaged, copy, { recursive: true });
    const [checked, inProcess] = [await started(damaged, true), await started(copy, false)];
    expect(checked.restored.fallbacks[0]?.reason).toMatch(/key 12345: the key is not a string/);
    expect(checked.restored).toEqual(inProcess.restored);
    expect(checked.digests).toEqual(inProcess.digests);
    expect(readdirSync(damaged)).not.toContain('quarantine');
  });

  it('stops, and moves nothing, when no checker process can be started', async () => {
    const dir = join(root.path, 'unchecked');
    cpSync(pristine, dir, { recursive: true });
    const before = readdirSync(dir).sort();
    const bytes = readFileSync(join(dir, DATA_FILE));
    // A Node that is not there: spawn fails, as it does without memory or a free process slot.
    const node = join(root.path, 'no-such-node');
    await expect(checkAndRead(dir, { write: true, node, streamAboveBytes: 0 })).rejects.toThrow(
      /^SC_DATA_FILE_UNCHECKED: .*nothing was/,
    );
    expect(() => checkDataFile(dir, { write: true, node })).toThrow(/^SC_DATA_FILE_UNCHECKED: /);
    expect(() => quarantineAndSalvage(dir, 'a test', Date.now(), { node })).toThrow(/^SC_DATA_FILE_UNCHECKED: /);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(join(dir, DATA_FILE)).equals(bytes)).toBe(true);
    // A checker that starts but dies still counts as damage (quarantine), as before.
    const died = await checkAndRead(dir, { write: true, node: '/bin/false', streamAboveBytes: 0 });
    expect(died.ok).toBe(false);
    await expect(checkAndRead(dir, { write: true, node })).rejects.toThrow(/^SC_DATA_FILE_UNCHECKED: .*nothing was/);
    expect((await checkAndRead(dir, { write: true, node: '/bin/false' })).ok).toBe(false);
    // And the file starts as it did: the newest generation, nothing quarantined.
    const after = await started(dir, true);
    expect(after.restored.meta?.generation).toBe((await newestSlot(pristine))?.meta.generation);
    expect(after.restored.fallbacks).toEqual([]);
    expect(readdirSync(dir)).not.toContain('quarantine');
  });

  it('reads the same stream cut into chunks of any size as whole', () => {
    const r = spawnSync(process.execPath, [childScript(), 'stream-slot', pristine, '0', '1'], { maxBuffer: 1 << 28 });
    expect(r.status).toBe(0);
    const bytes = r.stdout as Buffer;
    const whole = new SlotStreamReader();
    whole.push(bytes);
    const cut = new SlotStreamReader();
    const random = mulberry32(7);
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(random() * 300);
      cut.push(bytes.subarray(at, at + n));
      at += n;
    }
    const plain = (p: PrereadSlot | null) =>
      JSON.stringify(p && { ...p, plugins: [...p.plugins], unreadable: [...p.unreadable] });
    expect(whole.result()).not.toBeNull();
    expect(whole.entries).toBeGreaterThan(100);
    expect(plain(cut.result())).toBe(plain(whole.result()));
  });

  it('joins shares read by separate children into the slot one child reads whole', () => {
    const read = (part: number, parts: number) => {
      const r = spawnSync(process.execPath, [childScript(), 'stream-slot', pristine, String(part), String(parts)], {
        maxBuffer: 1 << 28,
      });
      expect(r.status).toBe(0);
      const reader = new SlotStreamReader();
      reader.push(r.stdout as Buffer);
      return reader;
    };
    const plain = (p: PrereadSlot | null) =>
      JSON.stringify(p && { ...p, plugins: [...p.plugins], unreadable: [...p.unreadable] });
    const whole = read(0, 1);
    for (const parts of [2, 3, 7]) {
      const shares = Array.from({ length: parts }, (_, part) => read(part, parts));
      // Each share holds some of the entries, and none holds them all.
      for (const share of shares) expect(share.entries).toBeLessThan(whole.entries ?? 0);
      expect(shares.reduce((n, s) => n + (s.entries ?? 0), 0)).toBe(whole.entries);
      expect(plain(joinShares(shares))).toBe(plain(whole.result()));
      // Cut where the meta's entry counts say, the runs are as long as counting the slot makes them.
      const n = whole.entries ?? 0;
      expect(shares.map((s) => s.entries)).toEqual(
        Array.from({ length: parts }, (_, i) => Math.floor(((i + 1) * n) / parts) - Math.floor((i * n) / parts)),
      );
    }
  });

  it('cuts a slot soundly whatever sizes it is told: runs disjoint, in key order, covering it', async () => {
    const newest = await newestSlot(pristine);
    expect(newest).toBeDefined();
    const { slot, meta } = newest as NonNullable<typeof newest>;
    const store = new DataStore(pristine, { readOnly: true });
    try {
      const keysOf = (range?: { from: SlotCut | null; to: SlotCut | null }) => {
        const keys: string[] = [];
        store.forEachSlotEntry(slot, (ident, name, key) => keys.push(`${ident}/${name}/${key}`), range);
        return keys;
      };
      const whole = keysOf();
      const told = Object.fromEntries(Object.entries(meta.plugins).map(([ident, p]) => [ident, p.entries]));
      const idents = Object.keys(told);
      expect(idents.length).toBeGreaterThan(10);
      const wrong: Record<string, SlotSizes> = {
        'as written': told,
        doubled: Object.fromEntries(
          Object.entries(told).map(([i, e]) => [
            i,
            Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, 2 * v])),
          ]),
        ),
        'half the plugins': Object.fromEntries(Object.entries(told).slice(0, Math.floor(idents.length / 2))),
        'one huge': { [idents[0] as string]: { rows: 1e9 } },
        'an unknown plugin': { ...told, 'zz-gone': { rows: 5000 } },
        'a count missing': { ...told, [idents[1] as string]: undefined },
        'none at all': {},
        'all empty': Object.fromEntries(idents.map((i) => [i, {}])),
      };
      for (const [label, sizes] of Object.entries(wrong)) {
        for (const parts of [2, 3, 7]) {
          const cuts = store.slotCuts(slot, parts, sizes);
          expect(cuts).toHaveLength(parts - 1);
          const bounds = [null, ...cuts, null];
          const runs = Array.from({ length: bounds.length - 1 }, (_, i) =>
            keysOf({ from: bounds[i] ?? null, to: bounds[i + 1] ?? null }),
          );
          expect(runs.flat(), `${label}, ${parts} parts`).toEqual(whole);
        }
      }
    } finally {
      await store.close();
    }
  });
});

describe('msgpack sequences (codec.ts)', () => {
  it('carry keys at every string header size and checked bodies unchanged', () => {
    const keys = [0, 1, 31, 32, 255, 256, 65_535, 65_536].map((n) => 'k'.repeat(n));
    keys.push('é'.repeat(16), 'é'.repeat(128), '𝄞 clef', 'user\u0000nul');
    const values: unknown[] = keys.map((k, i) => ({ i, k: k.length, nested: [i, 'x', { b: Buffer.from([i & 255]) }] }));
    const writer = new SequenceWriter();
    keys.forEach((k, i) => {
      writer.string(k);
      const framed = encodeChecked(values[i]);
      writer.checkedBody(framed, framed.byteLength);
    });
    const got: unknown[] = [];
    decodeSequence(writer.written(), (v) => got.push(v));
    expect(got).toEqual(keys.flatMap((k, i) => [k, values[i]]));
    writer.clear();
    expect(writer.written().byteLength).toBe(0);
  });
});
