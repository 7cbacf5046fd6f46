import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { CHECK_EVERY, KEYS_PER_MESSAGE_WORST } from '../actors/key-budget.js';
import type { Logger } from './logger.js';
import { DEFAULT_MAX_FANOUT } from './meta/fanout.js';

/** The most a key costs on the heap among the built-in plugins (top-users; test/plugins/memory.test.ts). */
export const BYTES_PER_KEY_WORST = 464;

/**
 * Keys the total may pass the budget by at most: it is checked every CHECK_EVERY messages
 * (key-budget.ts), so by what the CHECK_EVERY − 1 messages since the last check added, each at
 * its worst. A message's keys grow with the names it carries (one key per name in each per-user
 * or per-package container), so past the default --max-fanout in proportion; never less.
 */
export function overshootKeysWorst(maxFanout = DEFAULT_MAX_FANOUT): number {
  const perMessage = Math.ceil((KEYS_PER_MESSAGE_WORST * Math.max(maxFanout, DEFAULT_MAX_FANOUT)) / DEFAULT_MAX_FANOUT);
  return (CHECK_EVERY - 1) * perMessage;
}

/**
 * Warns at start-up when a full key budget may not fit the heap: the budget exists so that a
 * flood of new names ends in eviction, not in a crash that the restore of the same state repeats.
 * Full means the budget and what it may be passed by between two checks: sized on the budget
 * alone, a heap that just held it was the one a flood overran (by up to ~225 MiB at the default
 * --max-fanout) before the next check cut it back.
 */
export function warnIfBudgetPastHeap(maxKeysTotal: number, log: Logger, maxFanout = DEFAULT_MAX_FANOUT): void {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const overshootKeys = overshootKeysWorst(maxFanout);
  const needed = (maxKeysTotal + overshootKeys) * BYTES_PER_KEY_WORST;
  if (needed <= heapLimit) return;
  log.warn(
    {
      maxKeysTotal,
      overshootKeys,
      heapLimitMiB: Math.round(heapLimit / 2 ** 20),
      neededMiB: Math.round(needed / 2 ** 20),
    },
    `--max-keys-total, with the up to ${overshootKeys} keys it may be passed by between two checks (every ${CHECK_EVERY} messages), may need more heap than Node allows (up to ${BYTES_PER_KEY_WORST} B a key): lower it, or raise the heap with NODE_OPTIONS=--max-old-space-size=<MiB> past neededMiB`,
  );
}

/**
 * Share of the old generation's limit (--max-old-space-size) that live data may fill before the
 * instance says it is degraded. V8 may abort short of the whole limit: measured with Node 20,
 * live data held in arrays of strings and collected every 2 MiB aborted at 84% of 64 MiB and 81%
 * of 256 MiB; the service under a flood of new names reached 99% of 128 MiB, 10 s after passing 70% ("ineffective mark-compacts near heap limit"). Up to that abort (a flood of new names
 * while the key budget is larger than the heap; the restore of the same state repeats it) every
 * health check said ok.
 */
export const HEAP_DEGRADED_SHARE = 0.7;

/**
 * Live heap as measured just after each full (mark-compact) collection, when what is in use is
 * what is kept: the used size read at an arbitrary moment also counts garbage not yet collected,
 * and would say "nearly full" at every sawtooth peak.
 */
export class HeapWatch {
  private live = 0;
  /**
   * The live share of the old generation's limit after the last full collection, where the hang
   * watch thread reads it (applying-mark.ts): a run that dies with the heap already this full
   * is not blamed on the plugin applying at the time. Written from the observer, which cannot
   * run inside a plugin's synchronous update: during a message it holds the share from before.
   */
  readonly share = new Float64Array(new SharedArrayBuffer(8));
  private limit = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        this.live = getHeapStatistics().used_heap_size;
        if (this.limit === 0) this.limit = oldGenerationLimit(getHeapStatistics().heap_size_limit);
        if (this.limit > 0) this.share[0] = this.live / this.limit;
      }
  });

  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer.disconnect();
  }

  /** The degraded reason, or null while live data fits well within the limit. */
  problem(): string | null {
    return heapProblem(this.live, oldGenerationLimit(getHeapStatistics().heap_size_limit));
  }
}

/**
 * V8's young generation in 64-bit Node 20: two 16 MiB semi-spaces and a new large-object space
 * as large. heap_size_limit counts it, but live data never stays there (an abort comes when the
 * old generation is full): measured, heap_size_limit is --max-old-space-size + 48 MiB at every
 * size from 32 MiB to 4 GiB, so against heap_size_limit a 128 MiB heap aborted at 75% "full".
 */
const YOUNG_GENERATION_BYTES = 48 * 2 ** 20;

/**
 * What live data may fill before V8 gives up: the old generation's limit. Where the operator set
 * it (`--max-old-space-size` in the process's flags or NODE_OPTIONS), that number; otherwise
 * heap_size_limit less Node 20's young generation (another Node may size that differently).
 */
export function oldGenerationLimit(
  heapSizeLimit: number,
  flags: readonly string[] = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)],
): number {
  const given = maxOldSpaceMiB(flags);
  if (given !== null) return given * 2 ** 20;
  return heapSizeLimit > 2 * YOUNG_GENERATION_BYTES ? heapSizeLimit - YOUNG_GENERATION_BYTES : heapSizeLimit;
}

/** The last `--max-old-space-size=<MiB>` (or `_` spelling) among V8 flags, or null. */
function maxOldSpaceMiB(flags: readonly string[]): number | null {
  let mib: number | null = null;
  for (const f of flags) {
    const m = /^--max[-_]old[-_]space[-_]size=(\d+)$/.exec(f);
    if (m !== null && Number(m[1]) > 0) mib = Number(m[1]);
  }
  return mib;
}

/** The degraded reason for `live` bytes after a full collection against the old generation's `limit`. */
export function heapProblem(live: number, limit: number): string | null {
  if (limit <= 0 || live < HEAP_DEGRADED_SHARE * limit) return null;
  const mib = (n: number) => Math.round(n / 2 ** 20);
  return (
    `heap nearly full: ${mib(live)} MiB live after the last full collection of the ${mib(limit)} MiB limit ` +
    `(${Math.round((100 * live) / limit)}%); lower --max-keys-total or raise NODE_OPTIONS=--max-old-space-size=<MiB> before it runs out`
  );
}
