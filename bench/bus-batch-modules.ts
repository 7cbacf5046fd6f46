/**
 * The bus thread's preparing and batching modules, from the build under `dist` (this one, or
 * another worktree's for an A/B run), for the in-process benches that prepare fixture frames
 * into bus-thread batches (bus-prepare-cost, unpack-cost). msgpack-strings is loaded first, as
 * the bus thread loads it.
 */
export async function busBatchModules(dist: string) {
  await import(`${dist}/src/msgpack-strings.js`);
  const prepare = (await import(`${dist}/src/bus-prepare.js`)) as typeof import('../src/bus-prepare.js');
  const { PairBatch } = (await import(`${dist}/src/transfer-buffer.js`)) as typeof import('../src/transfer-buffer.js');
  const { ItemBatch } = (await import(
    `${dist}/src/bus-thread-protocol.js`
  )) as typeof import('../src/bus-thread-protocol.js');
  const { loadConfig } = (await import(`${dist}/src/config.js`)) as typeof import('../src/config.js');
  return { ...prepare, PairBatch, ItemBatch, loadConfig };
}
