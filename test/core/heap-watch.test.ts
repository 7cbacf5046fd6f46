import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HEAP_DEGRADED_SHARE, heapProblem, oldGenerationLimit } from '../../src/heap-check.js';

const MODULE = new URL('../../dist/src/heap-check.js', import.meta.url).href;
const MIB = 2 ** 20;

/**
 * A real V8 heap of 64 MiB in a child process: the watch started, live data grown to 74% of
 * the old generation (strings held in arrays, collected every 2 MiB: collections forced after
 * every small step, freeing nothing, make V8 give up early), then let go.
 */
const CHILD = `
import { HeapWatch } from ${JSON.stringify(MODULE)};
const w = new HeapWatch();
w.start();
// gc entries reach the observer a few turns after the collection.
const settle = async () => { gc(); for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0)); };
const used = () => process.memoryUsage().heapUsed;
await settle();
const before = w.problem();
// On the global object: a local that is only written after this loop is dead to V8 and collected.
globalThis.keep = [];
for (let live = 0; live < 0.74 * 64 * 2 ** 20; ) {
  const target = used() + 2 * 2 ** 20;
  while (used() < target) {
    const chunk = [];
    for (let i = 0; i < 1000; i++) chunk.push('live-' + i + '-' + Math.random());
    globalThis.keep.push(chunk);
  }
  gc();
  live = used();
}
await settle();
const during = w.problem();
globalThis.keep = null;
await settle();
const after = w.problem();
w.stop();
console.log(JSON.stringify({ before, during, after }));
`;

describe('HeapWatch', () => {
  it('says the heap is nearly full once live data passes 70% of the old generation, and recovers when it is freed', () => {
    const r = spawnSync(
      process.execPath,
      ['--max-old-space-size=64', '--expose-gc', '--input-type=module', '-e', CHILD],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { before: string | null; during: string | null; after: string | null };
    expect(out.before).toBeNull();
    expect(out.during).toMatch(
      /^heap nearly full: 4\d MiB live after the last full collection of the 64 MiB limit \(7\d%\); lower --max-keys-total/,
    );
    expect(out.after).toBeNull();
  });

  it('measures against the old generation: heap_size_limit also counts the young generation, where live data never stays', () => {
    // V8 in 64-bit Node 20: heap_size_limit = --max-old-space-size + 48 MiB.
    expect(oldGenerationLimit(176 * MIB, [])).toBe(128 * MIB);
    // A limit the operator gave is taken as given, whatever another Node makes the young generation.
    expect(oldGenerationLimit(999 * MIB, ['--expose-gc', '--max-old-space-size=128'])).toBe(128 * MIB);
    expect(oldGenerationLimit(999 * MIB, ['--max_old_space_size=64', '--max-old-space-size=256'])).toBe(256 * MIB);
    expect(heapProblem(HEAP_DEGRADED_SHARE * 128 * MIB - 1, 128 * MIB)).toBeNull();
    expect(heapProblem(110 * MIB, 128 * MIB)).toMatch(
      /^heap nearly full: 110 MiB live .* of the 128 MiB limit \(86%\)/,
    );
    expect(heapProblem(HEAP_DEGRADED_SHARE * 128 * MIB, 128 * MIB)).toMatch(/^heap nearly full: 90 MiB live/);
  });
});
