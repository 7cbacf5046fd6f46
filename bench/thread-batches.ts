/**
 * The fixture samples prepared into bus-thread batches as the bus thread prepares them
 * (prepareFrames, PairBatch, ItemBatch), for the benches that count the main thread's take-in
 * (intake-take.ts, handover-commit.ts). Every message is new (`<idPrefix>-<n>`), `i` counts up per
 * pass over the samples, and the timestamps fall within the last hour, the same run after run: a
 * Map's probes depend on the strings. Modules come from `dist` (another worktree's for an A/B
 * run), and so do the parts the benches go on with.
 */
import type { ItemBatch as ItemBatchType } from '../src/bus-thread-protocol.js';
import { fixtureSamples, wire } from './fedmsg-wire.js';

export type PackedBatch = {
  readonly items: ReturnType<InstanceType<typeof ItemBatchType>['take']>;
  readonly buffer: ArrayBuffer;
};

export async function threadBatches(dist: string, count: number, perBatch: number, idPrefix: string) {
  const load = <T>(path: string) => import(`${dist}/${path}`) as Promise<T>;
  await import(`${dist}/src/msgpack-strings.js`);
  const { prepareFrames, threadLimits, unclocked } =
    await load<typeof import('../src/bus-prepare.js')>('src/bus-prepare.js');
  const { PairBatch } = await load<typeof import('../src/transfer-buffer.js')>('src/transfer-buffer.js');
  const { ItemBatch } = await load<typeof import('../src/bus-thread-protocol.js')>('src/bus-thread-protocol.js');
  const { unpackBatch } = await load<typeof import('../src/bus-thread-batch.js')>('src/bus-thread-batch.js');
  const { loadConfig } = await load<typeof import('../src/config.js')>('src/config.js');
  const { assembleCore } = await load<typeof import('../src/core.js')>('src/core.js');
  const { DataStore } = await load<typeof import('../snapshots/lmdb-store.js')>('snapshots/lmdb-store.js');

  const samples = fixtureSamples();
  const now = Math.floor(Date.now() / 3_600_000) * 3600;
  const config = loadConfig({ env: {}, flags: { port: 0 } });
  const limits = unclocked(threadLimits(config));
  const fill = () => Date.now() / 1000;
  const batches: PackedBatch[] = [];
  for (let b = 0, n = 0; b < count; b++) {
    const items = new ItemBatch();
    const pairs = new PairBatch();
    while (items.count < perBatch) {
      const s = samples[n % samples.length] as (typeof samples)[number];
      const pass = Math.floor(n / samples.length);
      const e = { ...s, timestamp: now - 3600 + (n % 3000), msg_id: `${idPrefix}-${n}`, i: pass + 1 };
      n++;
      const prepared = prepareFrames([Buffer.from(s.topic), Buffer.from(wire(e))], limits, fill);
      if (prepared.kind !== 'ready') continue;
      const end = pairs.add(prepared.record, prepared.head);
      items.ready('bench', end, pairs.size, prepared.corrected, prepared.truncated, prepared.filled);
    }
    batches.push({ items: items.take(), buffer: pairs.take() });
  }
  return { batches, config, unpackBatch, assembleCore, DataStore };
}
