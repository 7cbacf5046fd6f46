import { getHeapStatistics } from 'node:v8';
import type { Logger } from './logger.js';

/** The most a key costs on the heap among the built-in plugins (top-users; test/plugins/memory.test.ts). */
export const BYTES_PER_KEY_WORST = 464;

/**
 * Warns at start-up when a full key budget may not fit the heap: the budget exists so that a
 * flood of new names ends in eviction, not in a crash that the restore of the same state repeats.
 */
export function warnIfBudgetPastHeap(maxKeysTotal: number, log: Logger): void {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const needed = maxKeysTotal * BYTES_PER_KEY_WORST;
  if (needed <= heapLimit) return;
  log.warn(
    { maxKeysTotal, heapLimitMiB: Math.round(heapLimit / 2 ** 20), neededMiB: Math.round(needed / 2 ** 20) },
    `--max-keys-total may need more heap than Node allows (up to ${BYTES_PER_KEY_WORST} B a key): lower it, or raise the heap with NODE_OPTIONS=--max-old-space-size=<MiB>`,
  );
}
