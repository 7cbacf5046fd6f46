import { describe, expect, it } from 'vitest';
import { ViewBudget } from '../../src/http/view-budget.js';

describe('ViewBudget: views one client IP may have computed per minute', () => {
  it('gives a burst of the per-minute rate, refills it evenly over the minute and never beyond it, per IP', () => {
    let now = 1_000_000;
    const budget = new ViewBudget(6, () => now);
    for (let i = 0; i < 6; i++) expect(budget.take('a'), `token ${i}`).toBe(true);
    expect(budget.take('a')).toBe(false);
    expect(budget.retryAfterSeconds('a')).toBe(10);
    // Another client is not held back by the first.
    expect(budget.take('b')).toBe(true);

    now += 9_999;
    expect(budget.take('a')).toBe(false);
    now += 1;
    expect(budget.take('a')).toBe(true);
    expect(budget.take('a')).toBe(false);

    // A long quiet spell refills the burst, not more.
    now += 3_600_000;
    expect(budget.retryAfterSeconds('a')).toBe(0);
    let taken = 0;
    while (budget.take('a')) taken++;
    expect(taken).toBe(6);
  });

  it('forgets clients whose bucket is full again, so many passing IPs hold no memory for long', () => {
    let now = 0;
    const budget = new ViewBudget(60, () => now);
    for (let i = 0; i < 5000; i++) {
      now += 10;
      expect(budget.take(`10.0.${i >> 8}.${i & 255}`)).toBe(true);
    }
    // Each bucket is full again 1 s after its one take: only the last second's IPs are kept.
    expect(budget.size).toBeLessThanOrEqual(2048);
  });
});
