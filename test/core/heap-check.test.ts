import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, KEYS_PER_MESSAGE_WORST } from '../../actors/key-budget.js';
import { BYTES_PER_KEY_WORST, warnIfBudgetPastHeap } from '../../src/heap-check.js';

/**
 * The start-up warning that --max-keys-total may not fit the heap. The budget is checked every
 * CHECK_EVERY messages (key-budget.ts), so the keys held may pass it by what the messages between
 * two checks add: the warning counts that room too. Sized against this process's own heap limit.
 */
const OVERSHOOT = (CHECK_EVERY - 1) * KEYS_PER_MESSAGE_WORST;
const KEYS_IN_HEAP = Math.floor(getHeapStatistics().heap_size_limit / BYTES_PER_KEY_WORST);

function warnings(maxKeysTotal: number, maxFanout?: number): Record<string, unknown>[] {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  warnIfBudgetPastHeap(maxKeysTotal, log, maxFanout);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('warnIfBudgetPastHeap', () => {
  it('warns for a budget that fits the heap only without the keys it may be passed by between two checks', () => {
    // Fits alone (before: no warning), not with the overshoot.
    const budget = KEYS_IN_HEAP - 1_000;
    const [warning, ...more] = warnings(budget);
    expect(more).toEqual([]);
    expect(warning).toMatchObject({
      maxKeysTotal: budget,
      overshootKeys: OVERSHOOT,
      neededMiB: Math.round(((budget + OVERSHOOT) * BYTES_PER_KEY_WORST) / 2 ** 20),
      msg: expect.stringMatching(
        new RegExp(
          `^--max-keys-total, with the up to ${OVERSHOOT} keys it may be passed by between two checks \\(every ${CHECK_EVERY} messages\\), may need more heap than Node allows`,
        ),
      ),
    });
  });

  it('is quiet for a budget that fits with that room', () => {
    expect(warnings(KEYS_IN_HEAP - OVERSHOOT - 1_000)).toEqual([]);
  });

  it('counts a larger --max-fanout: more names a message, more keys between two checks', () => {
    const budget = KEYS_IN_HEAP - OVERSHOOT - 1_000;
    // Four times the default's names: four times the room.
    const [warning] = warnings(budget, 1024);
    expect(warning).toMatchObject({ maxKeysTotal: budget, overshootKeys: 4 * OVERSHOOT });
  });
});
